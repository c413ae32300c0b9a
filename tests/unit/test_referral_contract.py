"""The 12345 referral contract (shared/contracts/referrals.py), shared by the gateway route,
dossiers and jobs: what a referral must carry, and what is refused naming the field."""

from datetime import date

import pytest
from marshmallow import ValidationError

from shared.catalogue import CATALOGUE
from shared.contracts.referrals import ReferralSchema
from shared.identity import make_id_number

ID_NUMBER = make_id_number("350802", date(1980, 5, 17), 123)


def referral(**changes) -> dict:
    body = {
        "case_no": "12345-2018-000123",
        "kind": "hardship",
        "county": "LY-XL",
        "citizen": {"id_number": ID_NUMBER, "name": "张三", "phone": "13800000000"},
        "summary": "下岗后家庭困难，请工会帮扶",
    }
    return {**body, **changes}


def test_a_hardship_referral_loads_with_its_id_number_checked():
    loaded = ReferralSchema().load(referral())
    assert loaded["citizen"]["id_number"] == ID_NUMBER
    assert loaded["kind"] == "hardship"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"county": "LY-ZZ"}, "county"),  # not a county the tree knows
        ({"county": "LY-XL-0042"}, "county"),  # a unit, not a county
        ({"county": "LY"}, "county"),
        ({"kind": "complaint"}, "kind"),
        ({"case_no": {"$gt": ""}}, "case_no"),
        ({"case_no": "12345.2018"}, "case_no"),  # never a dotted key
        ({"case_no": "a" * 41}, "case_no"),
        ({"summary": ""}, "summary"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_bad_field_is_refused_by_name(changes, field):
    with pytest.raises(ValidationError) as refused:
        ReferralSchema().load(referral(**changes))
    assert field in refused.value.messages


@pytest.mark.parametrize(
    "citizen",
    [
        {"id_number": ID_NUMBER[:-1] + ("0" if ID_NUMBER[-1] != "0" else "1"), "name": "张三",
         "phone": "13800000000"},  # a wrong check digit
        {"id_number": ID_NUMBER, "name": "张三", "phone": "call me"},
        {"id_number": ID_NUMBER, "name": "", "phone": "13800000000"},
    ],
)  # fmt: skip
def test_a_bad_citizen_is_refused(citizen):
    with pytest.raises(ValidationError) as refused:
        ReferralSchema().load(referral(citizen=citizen))
    assert "citizen" in refused.value.messages


def test_the_hire_event_carries_no_cause_income_or_clear_id():
    fields = set(CATALOGUE[("dossier_holder_hired", 1)]().fields)
    assert fields == {"intent_id", "dossier_id", "head_id_hash", "hired_on", "county"}
