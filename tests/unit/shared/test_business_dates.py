"""Caller-stated business dates: today by default, never the future, the past only for
city_admin (marked for the audit log) or when the platform replays past input."""

from datetime import timedelta

import pytest

from shared.business_dates import business_date
from shared.errors import ApiError
from shared.events import today_shanghai


def test_unstated_business_date_is_today():
    stated = business_date(None, "granted_on", "county_staff", allow_backdated=False)
    assert (stated.day, stated.backdated_by_role) == (today_shanghai(), False)


@pytest.mark.parametrize("allow_backdated", [False, True])
def test_business_date_in_the_future_refused(allow_backdated):
    tomorrow = today_shanghai() + timedelta(days=1)
    with pytest.raises(ApiError) as refused:
        business_date(tomorrow, "granted_on", "city_admin", allow_backdated=allow_backdated)
    assert (refused.value.status, list(refused.value.fields)) == (422, ["granted_on"])


@pytest.mark.parametrize("role", ["county_staff", "grassroots_staff", "finance", "reviewer"])
def test_past_business_date_refused_for_roles_other_than_city_admin(role):
    with pytest.raises(ApiError) as refused:
        business_date(
            today_shanghai() - timedelta(days=1), "enrolled_on", role, allow_backdated=False
        )
    assert (refused.value.status, list(refused.value.fields)) == (403, ["enrolled_on"])


def test_past_business_date_by_city_admin_is_kept_and_marked_for_the_audit_log():
    past = today_shanghai() - timedelta(days=400)
    stated = business_date(past, "enrolled_on", "city_admin", allow_backdated=False)
    assert (stated.day, stated.backdated_by_role) == (past, True)
    assert stated.audit_detail("enrolled_on") == {
        "field": "enrolled_on",
        "stated": past.isoformat(),
        "received_on": today_shanghai().isoformat(),
    }


def test_past_business_date_honoured_for_anyone_when_backdated_input_is_allowed():
    past = today_shanghai() - timedelta(days=400)
    stated = business_date(past, "intake_date", "county_staff", allow_backdated=True)
    assert (stated.day, stated.backdated_by_role) == (past, False)
