"""One enrolment row checked as the API and the CLI both check it."""

from datetime import date
from pathlib import Path

import pytest

from services.mutual_aid.application.enrolment import check_member, window_error
from services.mutual_aid.domain.policy import MutualAidPolicy
from shared.policy import PolicyStore
from tests.support.client import new_id_number

POLICY_DIR = Path(__file__).resolve().parents[3] / "config" / "policy" / "mutual_aid"
POLICY = MutualAidPolicy.from_document(PolicyStore(POLICY_DIR).by_version("mutual_aid/2018-v1"))
ENROLLED_ON = date(2017, 11, 20)


def check(**row):
    raw = {"id_number": new_id_number(1), "name": "张三", "coverage_start": "2018-01-01", **row}
    return check_member(raw, policy=POLICY, period=11, plan="A", enrolled_on=ENROLLED_ON)


def test_good_row_carries_plan_and_contribution():
    member, error = check()
    assert error is None
    assert (member.plan, member.contribution_fen, member.renewal) == ("A", 3600, False)


def test_row_plan_overrides_and_sets_the_contribution():
    member, _ = check(plan="C")
    assert (member.plan, member.contribution_fen) == ("C", 10000)


@pytest.mark.parametrize(
    ("row", "field"),
    [
        pytest.param({"id_number": "350802197001010000"}, "id_number", id="bad_check_digit"),
        pytest.param({"plan": "Z"}, "plan", id="unknown_plan"),
        pytest.param({"coverage_start": "2019-01-01"}, "coverage_start", id="outside_period"),
        pytest.param({"coverage_start": "2017-11-19"}, "coverage_start", id="backdated"),
        pytest.param({"name": ""}, "name", id="empty_name"),
        pytest.param({"bank_account": "12ab"}, "bank_account", id="bad_account"),
    ],
)
def test_bad_rows_name_the_field(row, field):
    member, error = check(**row)
    assert member is None
    assert field in error["fields"]
    assert "350802197001010000" not in str(error)


def test_enrolment_for_period_11_is_open_from_2017_11_01_through_2018_11_30():
    assert window_error(POLICY, 11, date(2017, 11, 1)) is None
    assert window_error(POLICY, 11, date(2018, 11, 30)) is None
    assert window_error(POLICY, 11, date(2017, 10, 31)).status == 422
    assert window_error(POLICY, 11, date(2018, 12, 1)).code == "enrolment_closed"
