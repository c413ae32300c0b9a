"""Facts at bill intake that do not come from the hospital: its registered level and the day
we received the bill."""

from datetime import date, timedelta

import pytest

from services.mutual_aid.application.bills import check_hospital_level, submission_date
from shared.errors import ApiError
from shared.events import today_shanghai

# The hospital as registered, once mutual_aid has verified the gateway's assertion of it.
LEVEL_2 = {"code": "H0001", "kind": "hospital", "level": 2}


def test_bill_stating_another_level_than_registered_is_hospital_level_mismatch():
    check_hospital_level(LEVEL_2, 2)
    with pytest.raises(ApiError) as refused:
        check_hospital_level(LEVEL_2, 3)
    assert (refused.value.status, refused.value.code) == (422, "hospital_level_mismatch")
    assert list(refused.value.fields) == ["hospital_level"]


def test_stated_submitted_on_ignored_without_backdated_input():
    stated = date(2018, 5, 10)
    assert submission_date(stated, date(2018, 5, 9), allow_backdated=False) == today_shanghai()
    assert submission_date(None, date(2018, 5, 9), allow_backdated=True) == today_shanghai()
    assert submission_date(stated, date(2018, 5, 9), allow_backdated=True) == stated


def test_bill_discharged_after_the_day_we_received_it_refused():
    tomorrow = today_shanghai() + timedelta(days=1)
    with pytest.raises(ApiError) as refused:
        submission_date(None, tomorrow, allow_backdated=False)
    assert (refused.value.status, list(refused.value.fields)) == (400, ["discharge_date"])
