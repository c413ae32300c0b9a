"""The mutual-aid part of the year replay: the policy calculation against DOMAIN.md's worked
examples, the drawn year against the policy and the source's totals, and every step against
the gateway's contract."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from datetime import date

import pytest

from scripts.replay.city import HOSPITALS, City
from scripts.replay.model import Partner, Staff, scaled
from scripts.replay.scenarios import mutual_aid
from scripts.replay.scenarios.mutual_aid import (
    BillFacts,
    Membership,
    decide,
    draw_year,
    fit,
    load_policy,
    self_pay_for,
)
from shared.contracts.mutual_aid import (
    DischargeBillSchema,
    EnrollmentMemberSchema,
    EnrollmentRequestSchema,
    PayoutBatchRequestSchema,
    ReviewRequestSchema,
)
from shared.money import parse_yuan

POLICY = load_policy()
COVERED = Membership("A", date(2018, 1, 1))


def bill(**changes) -> BillFacts:
    base = BillFacts(
        hospital_level=2,
        admission=date(2018, 5, 2),
        discharge=date(2018, 5, 9),
        submitted=date(2018, 5, 10),
        diagnoses=("J18.9",),
        self_pay_in_catalogue=300_000,
    )
    return replace(base, **changes)


# ---- the calculation against DOMAIN.md §2 -------------------------------------------------------


def test_formula_deducts_the_level_deductible_then_applies_the_plan_ratio():
    # max(0, 3,000 − 500) × 30 % = 750.00 (level 2, plan A); level 3 deducts 800, level 1 300.
    assert decide(POLICY, bill(), COVERED, 0).amount == 75_000
    assert decide(POLICY, bill(hospital_level=3), COVERED, 0).amount == 66_000
    assert decide(POLICY, bill(hospital_level=1), COVERED, 0).amount == 81_000
    assert decide(POLICY, bill(), Membership("B", date(2018, 1, 1)), 0).amount == 100_000
    assert decide(POLICY, bill(), Membership("C", date(2018, 1, 1)), 0).amount == 125_000


def test_formula_rounds_half_up_to_the_fen():
    # 5 fen above the deductible × 30 % = 1.5 fen → 2 fen.
    assert decide(POLICY, bill(self_pay_in_catalogue=50_005), COVERED, 0).amount == 2


def test_waiting_period_rejects_first_time_enrollee_until_day_90():
    # Coverage 2018-01-01 → admissions from 2018-04-01.
    early = decide(POLICY, bill(admission=date(2018, 3, 31)), COVERED, 0)
    assert (early.status, early.reason) == ("rejected", "waiting_period")
    assert decide(POLICY, bill(admission=date(2018, 4, 1)), COVERED, 0).status == "approved"
    renewal = Membership("A", date(2018, 1, 1), renewal=True)
    assert decide(POLICY, bill(admission=date(2018, 1, 3)), renewal, 0).status == "approved"


def test_not_enrolled_and_admission_before_coverage_are_refused():
    assert decide(POLICY, bill(), None, 0).reason == "not_enrolled"
    later = Membership("A", date(2018, 6, 1))
    assert decide(POLICY, bill(), later, 0).reason == "not_enrolled"


@pytest.mark.parametrize(
    ("code", "amounts"),
    [
        ("K35", (60_000, 80_000, 100_000)),
        ("O82", (80_000, 100_000, 120_000)),
        ("H25", (50_000, 70_000, 90_000)),
    ],
)
def test_single_disease_pays_the_table_amount_of_the_plan(code, amounts):
    for plan, amount in zip("ABC", amounts, strict=True):
        member = Membership(plan, date(2018, 1, 1))
        assert decide(POLICY, bill(single_disease_code=code), member, 0).amount == amount


def test_subsidy_never_exceeds_self_pay_or_the_remaining_cap():
    small = bill(single_disease_code="K35", self_pay_in_catalogue=45_000)
    assert decide(POLICY, small, Membership("C", date(2018, 1, 1)), 0).amount == 45_000
    # Plan A's cap is 10,000: with 9,500 used, 500 are left.
    assert decide(POLICY, bill(), COVERED, 950_000).amount == 50_000
    used_up = decide(POLICY, bill(), COVERED, 1_000_000)
    assert (used_up.status, used_up.reason) == ("rejected", "cap_exhausted")


def test_below_deductible_is_refused():
    low = decide(POLICY, bill(self_pay_in_catalogue=50_000), COVERED, 0)
    assert (low.status, low.reason) == ("rejected", "below_deductible")


def test_amounts_at_the_threshold_need_review():
    plan_c = Membership("C", date(2018, 1, 1))
    at = bill(hospital_level=1, self_pay_in_catalogue=30_000 + 2_000_000)  # × 50 % = 10,000
    assert decide(POLICY, at, plan_c, 0) == mutual_aid.Outcome("needs_review", 1_000_000)
    below = bill(hospital_level=1, self_pay_in_catalogue=30_000 + 1_999_998)
    assert decide(POLICY, below, plan_c, 0) == mutual_aid.Outcome("approved", 999_999)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"diagnoses": ("T42.4", "X84.9")}, "excluded_self_harm"),
        ({"diagnoses": ("Z41.1",)}, "excluded_cosmetic"),
        ({"diagnoses": ("S06.0", "V43.5"), "third_party_liable": True}, "excluded_third_party"),
        ({"drunk_driving": True}, "excluded_drunk_driving"),
        ({"crime": True}, "excluded_crime"),
        ({"submitted": date(2019, 4, 1)}, "late_submission"),
    ],
)
def test_exclusions_refuse_with_their_reason(changes, reason):
    assert decide(POLICY, bill(**changes), COVERED, 0).reason == reason


def test_traffic_injury_without_a_liable_third_party_and_a_bill_by_the_deadline_are_covered():
    assert decide(POLICY, bill(diagnoses=("S82.2", "V28.4")), COVERED, 0).status == "approved"
    assert decide(POLICY, bill(submitted=date(2019, 3, 31)), COVERED, 0).status == "approved"


@pytest.mark.parametrize("plan", ["A", "B", "C"])
@pytest.mark.parametrize("level", [1, 2, 3])
def test_self_pay_for_gives_exactly_the_wanted_subsidy(plan, level):
    member = Membership(plan, date(2018, 1, 1))
    for subsidy in (1, 2, 3, 7, 4_000, 74_811, 449_999):
        facts = bill(
            hospital_level=level, self_pay_in_catalogue=self_pay_for(POLICY, subsidy, level, plan)
        )
        assert decide(POLICY, facts, member, 0).amount == subsidy


def test_fit_shares_the_total_exactly_within_bounds():
    raws = [10, 500, 3_000, 80_000, 450_000, 1_000_000]
    amounts = fit(raws, 600_001, 4_000, 450_000)
    assert sum(amounts) == 600_001
    assert all(4_000 <= a <= 450_000 for a in amounts)
    with pytest.raises(ValueError):
        fit(raws, 6 * 450_000 + 1, 4_000, 450_000)


# ---- the drawn year ---------------------------------------------------------------------------

SCALE = 0.01


@pytest.fixture(scope="module")
def steps():
    return list(mutual_aid.MutualAid().steps(City(), SCALE))


@pytest.fixture(scope="module")
def year(steps):
    return mutual_aid.year_of(City().seed, SCALE)


def test_same_seed_same_steps(steps):
    again = list(_fresh().steps(City(), SCALE))
    assert again == steps
    other = list(_fresh().steps(City(seed=7), SCALE))
    assert [s.body for s in other] != [s.body for s in steps]


def _fresh():
    """A scenario that draws its year anew (not from the cache)."""
    scenario = mutual_aid.MutualAid()
    scenario.year = lambda scale, city=None: draw_year(city or City(), scale)
    return scenario


def test_keys_are_unique_and_steps_come_in_date_and_wave_order(steps):
    assert len({s.key for s in steps}) == len(steps)
    order = [(s.on, s.wave) for s in steps]
    assert order == sorted(order)


@pytest.mark.parametrize("scale", [0.0001, 0.003, SCALE, 0.05])
def test_expected_totals_are_what_the_policy_gives_the_drawn_bills(scale):
    year = mutual_aid.year_of(City().seed, scale)
    figures = {f.name: f.expected for f in mutual_aid.MutualAid().figures(scale)}
    # Decided again here, in arrival order, each member's cap used by the earlier bills.
    used: dict[int, int] = defaultdict(int)
    stays = total = 0
    for b in sorted((b for b in year.bills if not b.resend), key=lambda b: b.submitted):
        member = b.member
        membership = Membership(member.plan, member.coverage_start) if member.plan else None
        outcome = decide(year.policy, b.facts, membership, used[member.index])
        if outcome.status != "rejected":
            used[member.index] += outcome.amount
            stays += 1
            total += outcome.amount
    assert stays == figures["mutual_aid.person_times"] == scaled(10_600, scale)
    assert total == parse_yuan(figures["mutual_aid.subsidy_total"])
    assert total == round(793_000_000 * stays / 10_600)
    assert figures["mutual_aid.paid_total"] == figures["mutual_aid.subsidy_total"]
    by_plan = sum(figures[f"mutual_aid.person_times.{p}"] for p in year.policy.plans)
    assert by_plan == stays


def test_the_year_holds_every_kind_of_bill_at_a_small_scale(year):
    kinds = {b.kind for b in year.bills}
    assert {"ordinary", "single", "big", "cap_exhausted"} <= kinds
    assert set(mutual_aid.REFUSED) <= kinds
    assert any(b.resend for b in year.bills)


def test_every_body_passes_the_gateways_contract(steps):
    for step in steps:
        if step.path.endswith("/discharge-bills"):
            data = DischargeBillSchema().load(step.body)
            code = step.path.split("/")[4]
            assert step.actor == Partner(code)
            assert data["hospital_level"] == HOSPITALS[code][1]
            assert data["submitted_on"] <= mutual_aid.LAST_DAY
        elif step.path.endswith("/enrollments"):
            data = EnrollmentRequestSchema().load(step.body)
            for row in data["members"]:
                member = EnrollmentMemberSchema().load(row)
                assert member["coverage_start"] >= data["enrolled_on"]
            assert step.actor.org == data["employer_org"]
        elif step.path.endswith("/reviews"):
            ReviewRequestSchema().load(step.body)
        elif step.path.endswith("/payout-batches"):
            PayoutBatchRequestSchema().load(step.body)
        else:
            assert step.body is None, step.key


def test_claims_over_the_threshold_get_two_different_reviewers_after_their_bill(steps):
    saved_on: dict[str, tuple] = {}
    reviewers: dict[str, list] = defaultdict(list)
    for step in steps:
        for name in step.save:
            saved_on[name] = (step.on, step.wave)
        for name in re.findall(r"\{([^{}]+)\}", step.path):
            assert saved_on[name] < (step.on, step.wave), step.key
        if step.path.endswith("/reviews"):
            assert step.retry == (404,)
            reviewers[step.path].append(step.actor)
    big = [b for b in mutual_aid.year_of(City().seed, SCALE).bills if b.kind == "big"]
    assert len(reviewers) == len(big) > 0
    for actors in reviewers.values():
        assert len(actors) == 2 and actors[0].sub != actors[1].sub
        assert all(a.role == "reviewer" for a in actors)


def test_every_approved_claim_is_checked_before_its_months_batch(steps):
    batch_at = {}
    for step in steps:
        if step.key.startswith("mutual_aid:payout:"):
            batch_at[step.body["month"]] = (step.on, step.wave)
    checks = [s for s in steps if s.key.startswith("mutual_aid:check:")]
    assert checks and all(s.retry == (404,) for s in checks)
    for check in checks:
        month = f"{check.on:%Y-%m}"
        assert (check.on, check.wave) < batch_at[month]
    confirmers = {s.actor for s in steps if s.key.startswith("mutual_aid:payout-confirm:")}
    creators = {s.actor for s in steps if s.key.startswith("mutual_aid:payout:")}
    assert confirmers and creators and not confirmers & creators
    assert all(
        isinstance(a, Staff) and a.role == "finance" and a.org == "LY"
        for a in confirmers | creators
    )
