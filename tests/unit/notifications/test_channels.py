"""The development sinks' failure switches and the test clock are set by tests only, never
honoured in production."""

import os
from datetime import datetime, timedelta

from services.notifications.channels import (
    CLOCK_FILE,
    FAIL_SWITCH,
    PERMANENT,
    TRANSIENT,
    Clock,
    clock_file,
    sink_fails,
    sink_failure,
)
from shared.events import SHANGHAI


def test_sms_failure_switch_exists_only_outside_production():
    assert sink_fails({FAIL_SWITCH: "1"}, "development") is True
    assert sink_fails({FAIL_SWITCH: "1"}, "test") is True
    assert sink_fails({FAIL_SWITCH: "1"}, "production") is False
    assert sink_fails({}, "development") is False


def test_each_sink_has_its_own_switch_transient_or_permanent():
    env = {"SMS_SINK_FAIL": "permanent", "WECHAT_SINK_FAIL": "transient"}
    assert sink_failure(env, "test", "sms") == PERMANENT
    assert sink_failure(env, "test", "wechat") == TRANSIENT
    assert sink_failure({"WECHAT_SINK_FAIL": "1"}, "test", "wechat") == TRANSIENT
    assert sink_failure(env, "production", "sms") is None


def test_the_test_clock_file_is_ignored_in_production(tmp_path):
    path = tmp_path / "clock"
    assert clock_file({CLOCK_FILE: str(path)}, "production") is None
    assert clock_file({CLOCK_FILE: str(path)}, "test") == str(path)
    clock = Clock(str(path))
    before = datetime.now(SHANGHAI)
    assert before <= clock.now() <= datetime.now(SHANGHAI)  # no file: the wall clock
    path.write_text("2018-05-10T23:00:00+08:00")
    assert clock.now() == datetime(2018, 5, 10, 23, tzinfo=SHANGHAI)


def test_a_running_test_clock_runs_on_from_the_time_written(tmp_path):
    path = tmp_path / "clock"
    path.write_text("2018-05-10T23:00:00+08:00 running")
    start = datetime(2018, 5, 10, 23, tzinfo=SHANGHAI)
    first = Clock(str(path)).now()
    assert first >= start
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime - 3600))  # written an hour ago
    assert Clock(str(path)).now() >= start + timedelta(hours=1)
