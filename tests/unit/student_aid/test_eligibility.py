"""Eligibility, table-tested at every boundary: the window edges, each path, each exclusion."""

from datetime import date
from pathlib import Path

import pytest

from services.student_aid.domain.eligibility import (
    AIDED_ELSEWHERE,
    EXCLUDED_SCHOOL_KINDS,
    NOT_HARDSHIP,
    ParentDossier,
    check_window,
    decide_eligibility,
)
from services.student_aid.domain.errors import OutsideWindow
from services.student_aid.domain.policy import StudentAidPolicy
from services.student_aid.domain.ranking import PRIORITY
from shared.contracts.student_aid import PATHS, REASON_CODES, SCHOOL_KINDS
from shared.domain_errors import DomainError
from shared.errors import answer
from shared.policy import PolicyStore

ROOT = Path(__file__).resolve().parents[3]
POLICY = StudentAidPolicy.from_document(
    PolicyStore.for_service(ROOT / "config" / "policy", "student_aid").by_version(
        "student_aid/2018-v1"
    )
)
OPENS, CLOSES = POLICY.default_window(2018)
NATIONAL_OPEN = ParentDossier("national", "open")


def decide(**changes):
    application = {
        "applied_on": date(2018, 7, 15),
        "opens_on": OPENS,
        "closes_on": CLOSES,
        "education_level": "undergraduate",
        "school_kind": "regular",
        "aided_elsewhere": False,
        "parent_dossier": NATIONAL_OPEN,
        "migrant_certified_by": None,
    }
    return decide_eligibility(POLICY, **{**application, **changes})


@pytest.mark.parametrize(
    "applied_on", [date(2018, 7, 1), date(2018, 7, 15), date(2018, 8, 31)], ids=str
)
def test_window_edges_are_inside(applied_on):
    assert decide(applied_on=applied_on).status == "eligible"


@pytest.mark.parametrize("applied_on", [date(2018, 6, 30), date(2018, 9, 1)], ids=str)
def test_application_outside_window_refused(applied_on):
    with pytest.raises(OutsideWindow) as refused:
        decide(applied_on=applied_on)
    answered = answer(refused.value)
    assert (answered.status, answered.code, list(answered.fields)) == (
        422,
        "outside_window",
        ["applied_on"],
    )


def test_a_campaign_window_of_its_own_is_the_one_checked():
    opens, closes = date(2018, 7, 10), date(2018, 7, 20)
    check_window(date(2018, 7, 10), opens, closes)
    check_window(date(2018, 7, 20), opens, closes)
    with pytest.raises(DomainError):
        check_window(date(2018, 7, 9), opens, closes)
    with pytest.raises(DomainError):
        check_window(date(2018, 7, 21), opens, closes)


@pytest.mark.parametrize(
    ("level", "amount"),
    [
        ("undergraduate", 500_000),
        ("junior_college", 300_000),
        ("vocational", 300_000),
        ("senior_high", 200_000),
    ],
)
def test_amount_follows_education_level_in_fen(level, amount):
    decision = decide(education_level=level)
    assert (decision.status, decision.amount, decision.reason_code) == ("eligible", amount, None)
    assert decision.policy_version == "student_aid/2018-v1"


@pytest.mark.parametrize(
    ("dossier", "certified_by", "status", "path", "reason"),
    [
        (ParentDossier("national", "open"), None, "eligible", "national", None),
        (ParentDossier("local", "open"), None, "eligible", "local", None),
        (ParentDossier("grassroots", "open"), None, "ineligible", None, "not_hardship"),
        (ParentDossier("national", "proposed"), None, "ineligible", None, "not_hardship"),
        (ParentDossier("national", "closed"), None, "ineligible", None, "not_hardship"),
        (None, None, "ineligible", None, "not_hardship"),
        (None, "LY-XL-0042", "eligible", "migrant", None),
        (ParentDossier("grassroots", "open"), "LY-XL-0042", "eligible", "migrant", None),
        # An open dossier of an eligible tier ranks before the migrant path: it is taken first.
        (ParentDossier("local", "open"), "LY-XL-0042", "eligible", "local", None),
    ],
)
def test_eligibility_paths(dossier, certified_by, status, path, reason):
    decision = decide(parent_dossier=dossier, migrant_certified_by=certified_by)
    assert (decision.status, decision.path, decision.reason_code) == (status, path, reason)
    assert decision.amount == (500_000 if status == "eligible" else None)


def test_grassroots_tier_dossier_alone_is_not_eligible():
    decision = decide(parent_dossier=ParentDossier("grassroots", "open"))
    assert (decision.status, decision.reason_code) == ("ineligible", "not_hardship")
    assert "grassroots-tier" in decision.trace[-1]


@pytest.mark.parametrize(
    ("school_kind", "reason"),
    [
        ("military", "excluded_military"),
        ("free_normal", "excluded_free_normal"),
        ("directed", "excluded_directed"),
    ],
)
def test_excluded_school_kinds_are_ineligible(school_kind, reason):
    decision = decide(school_kind=school_kind)
    assert (decision.status, decision.amount, decision.reason_code) == ("ineligible", None, reason)
    # The parent's path is kept, so the figures count the application under it.
    assert decision.path == "national"


def test_aided_elsewhere_is_ineligible():
    decision = decide(aided_elsewhere=True)
    assert (decision.status, decision.reason_code) == ("ineligible", "aided_elsewhere")


def test_trace_says_each_step_and_the_amount():
    assert decide().trace == (
        "applied on 2018-07-15, within the window 2018-07-01 – 2018-08-31",
        "parent heads an open national-tier dossier",
        "school kind regular: not excluded",
        "eligible by the national path: undergraduate award 5000.00 (policy student_aid/2018-v1)",
    )


def test_a_dossier_opened_later_makes_the_same_application_eligible():
    before = decide(parent_dossier=ParentDossier("local", "proposed"))
    after = decide(parent_dossier=ParentDossier("local", "open"))
    assert (before.status, after.status, after.path) == ("ineligible", "eligible", "local")


def test_the_rules_speak_the_contracts_codes():
    assert {NOT_HARDSHIP, AIDED_ELSEWHERE, *EXCLUDED_SCHOOL_KINDS.values()} == set(REASON_CODES)
    assert set(EXCLUDED_SCHOOL_KINDS) == set(SCHOOL_KINDS) - {"regular"}
    assert set(PRIORITY) == set(PATHS)
