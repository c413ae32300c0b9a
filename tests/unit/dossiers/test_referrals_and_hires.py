"""The pure rules of 12345 hardship referrals (services/dossiers/domain/referrals.py) and of a
dossier head hired through jobs (services/dossiers/domain/hires.py), at every boundary."""

from datetime import date, timedelta

import pytest

from services.dossiers.domain.hires import (
    CAUSE_NOT_UNEMPLOYMENT,
    DOSSIER_NOT_FOUND,
    DOSSIER_NOT_OPEN,
    HEAD_MISMATCH,
    HIRED_IN_FUTURE,
    UNEMPLOYMENT,
    DossierFacts,
    judge_hire,
)
from services.dossiers.domain.referrals import check_close, mask_phone, require_hardship
from shared.domain_errors import Conflict, RuleViolation

TODAY = date(2018, 6, 1)
HEAD = "h" * 64


def facts(status="open", head=HEAD, causes=("unemployment",)) -> DossierFacts:
    return DossierFacts(status, head, frozenset(causes))


def test_only_hardship_referrals_are_intake_requests():
    require_hardship("hardship")
    with pytest.raises(RuleViolation) as refused:
        require_hardship("job_seeking")
    assert refused.value.field == "kind"


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13800001234", "138****1234"),
        ("0597-2345678", "059*****5678"),
        ("+8613800001234", "+86*******1234"),
        ("12345678", "123*5678"),  # eight: the shortest shown as 3 + 4
        ("2345678", "*****78"),  # seven: the last two only
        ("12345", "***45"),
    ],
)
def test_a_phone_shows_its_ends_only(phone, masked):
    assert mask_phone(phone) == masked
    assert len(mask_phone(phone)) == len(phone)


def test_an_open_request_closes_with_a_note_or_into_a_dossier_holding_the_citizen():
    check_close("open", HEAD, None)
    check_close("open", HEAD, frozenset({HEAD, "other"}))
    with pytest.raises(RuleViolation) as refused:
        check_close("open", HEAD, frozenset({"other"}))
    assert refused.value.field == "dossier_id"
    with pytest.raises(Conflict):
        check_close("closed", HEAD, None)


def test_an_unemployed_heads_hire_asks_for_a_re_evaluation():
    judged = judge_hire(facts(causes=("illness", "unemployment")), HEAD, TODAY, TODAY)
    assert (judged.re_evaluate, judged.reason) == (True, UNEMPLOYMENT)


@pytest.mark.parametrize(
    ("dossier", "head", "hired_on", "reason"),
    [
        (facts(), HEAD, TODAY + timedelta(days=1), HIRED_IN_FUTURE),
        (None, HEAD, TODAY, DOSSIER_NOT_FOUND),
        (facts(status="closed"), HEAD, TODAY, DOSSIER_NOT_OPEN),
        (facts(status="proposed"), HEAD, TODAY, DOSSIER_NOT_OPEN),
        (facts(), "x" * 64, TODAY, HEAD_MISMATCH),
        (facts(causes=("illness", "low_income")), HEAD, TODAY, CAUSE_NOT_UNEMPLOYMENT),
        (facts(causes=()), HEAD, TODAY, CAUSE_NOT_UNEMPLOYMENT),
        # A future hire is ignored even where everything else would call for a task.
        (None, HEAD, TODAY + timedelta(days=400), HIRED_IN_FUTURE),
    ],
)
def test_a_hire_is_ignored_with_its_reason(dossier, head, hired_on, reason):
    judged = judge_hire(dossier, head, hired_on, TODAY)
    assert (judged.re_evaluate, judged.reason) == (False, reason)


def test_a_hire_dated_today_or_earlier_counts():
    assert judge_hire(facts(), HEAD, TODAY, TODAY).re_evaluate
    assert judge_hire(facts(), HEAD, TODAY - timedelta(days=365), TODAY).re_evaluate
