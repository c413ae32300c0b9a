"""The SMS development sink's failure switch is its own, set by tests, never honoured in
production."""

from services.notifications.channels import FAIL_SWITCH, sink_fails


def test_sms_failure_switch_exists_only_outside_production():
    assert sink_fails({FAIL_SWITCH: "1"}, "development") is True
    assert sink_fails({FAIL_SWITCH: "1"}, "test") is True
    assert sink_fails({FAIL_SWITCH: "1"}, "production") is False
    assert sink_fails({}, "development") is False
