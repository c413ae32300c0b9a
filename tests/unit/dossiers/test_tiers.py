"""Tier proposal: every rule and boundary of DOMAIN.md §1 against the 2018 policy (低保 650)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.dossiers.domain.policy import DossierPolicy
from services.dossiers.domain.tiers import Assets, Household, income_within, propose_tier
from shared.policy import PolicyStore

ROOT = Path(__file__).resolve().parents[3]
LINE = 65_000  # fen: 650 yuan per person per month, every Longyan county in 2018


@pytest.fixture(scope="module")
def policy() -> DossierPolicy:
    store = PolicyStore.for_service(ROOT / "config" / "policy", "dossiers")
    return DossierPolicy.from_document(store.by_version("dossiers/2018-v1"))


def household(net_income, *, members=2, months=0, causes=(), rigid=0, **assets) -> Household:
    """A household whose Σ income − rigid expenditure is ``net_income`` fen."""
    incomes = [0] * (members - 1) + [net_income + rigid]
    return Household(
        county="LY-XL",
        member_incomes=tuple(incomes),
        monthly_rigid_expenditure=rigid,
        months_below_line=months,
        causes=frozenset(causes),
        assets=Assets(**assets),
    )


# (case, household, expected tier, expected deciding rule)
CASES = [
    # national: p < line and ≥ 6 months below it
    ("just_below_line_6_months", household(2 * LINE - 1, months=6), "national", "national_below_line_long_term"),
    ("just_below_line_5_months", household(2 * LINE - 1, months=5), "local", "local_relative_hardship"),
    ("exactly_at_line_6_months", household(2 * LINE, months=6), "local", "local_relative_hardship"),
    ("below_line_12_months", household(0, months=12), "national", "national_below_line_long_term"),
    # national: p ≤ 1.5 × line with illness, major illness, disability, child education, single parent
    ("exactly_1_5x_illness", household(3 * LINE, causes=["illness"]), "national", "national_hardship_cause"),
    ("exactly_1_5x_disability", household(3 * LINE, causes=["disability"]), "national", "national_hardship_cause"),
    ("exactly_1_5x_child_education", household(3 * LINE, causes=["child_education"]), "national", "national_hardship_cause"),
    ("exactly_1_5x_single_parent", household(3 * LINE, causes=["single_parent"]), "national", "national_hardship_cause"),
    ("one_fen_over_1_5x_illness", household(3 * LINE + 1, causes=["illness"]), "local", "local_relative_hardship"),
    ("exactly_1_5x_unemployment", household(3 * LINE, causes=["unemployment"]), "local", "local_relative_hardship"),
    ("odd_household_exactly_1_5x", household(292_500, members=3, causes=["illness"]), "national", "national_hardship_cause"),
    ("odd_household_one_fen_over_1_5x", household(292_501, members=3, causes=["illness"]), "local", "local_relative_hardship"),
    # national: p ≤ 3 × line with accident, disaster, major illness
    ("exactly_3x_accident", household(6 * LINE, causes=["accident"]), "national", "national_sudden_hardship"),
    ("exactly_3x_disaster", household(6 * LINE, causes=["disaster"]), "national", "national_sudden_hardship"),
    ("exactly_3x_major_illness", household(6 * LINE, causes=["major_illness"]), "national", "national_sudden_hardship"),
    ("one_fen_over_3x_accident", household(6 * LINE + 1, causes=["accident"]), None, None),
    # local: misses national, p < 2 × line
    ("just_below_2x_no_cause", household(4 * LINE - 1), "local", "local_relative_hardship"),
    ("exactly_2x_no_cause", household(4 * LINE), None, None),
    # grassroots: misses local, p ≤ 3 × line with a cause
    ("exactly_2x_with_cause", household(4 * LINE, causes=["unemployment"]), "grassroots", "grassroots_with_cause"),
    ("exactly_3x_low_income", household(6 * LINE, causes=["low_income"]), "grassroots", "grassroots_with_cause"),
    ("one_fen_over_3x_low_income", household(6 * LINE + 1, causes=["low_income"]), None, None),
    # rigid expenditure counts against income: Σ − rigid
    ("rigid_brings_below_2x", household(4 * LINE - 1, rigid=50_000), "local", "local_relative_hardship"),
    # not eligible (不宜建档) blocks any tier, however poor the household
    ("two_homes", household(0, months=12, causes=["illness"], homes=2), None, "owns_multiple_homes"),
    ("owns_business", household(0, months=12, owns_business=True), None, "owns_business"),
    ("private_school_or_abroad", household(0, months=12, private_school_or_abroad=True), None, "private_school_or_abroad"),
    ("non_work_vehicle", household(0, months=12, non_work_vehicle=True), None, "non_work_vehicle"),
    ("one_home_is_fine", household(0, months=12, homes=1), "national", "national_below_line_long_term"),
    ("no_home_is_fine", household(0, months=12, homes=0), "national", "national_below_line_long_term"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "house", "tier", "rule"), CASES, ids=[c[0] for c in CASES])
def test_household_is_proposed_the_tier_of_the_first_rule_it_meets(policy, case, house, tier, rule):
    proposal = propose_tier(house, policy, 2018)
    assert (proposal.tier, proposal.rule) == (tier, rule), "\n".join(proposal.trace)


def test_trace_has_one_line_per_rule_tried(policy):
    proposal = propose_tier(household(4 * LINE, causes=["unemployment"]), policy, 2018)
    rule_lines = [
        line for line in proposal.trace if line.split(" ")[0] in ("national", "local", "grassroots")
    ]
    assert [line.split(" ")[1].rstrip(":") for line in rule_lines] == [
        "national_below_line_long_term",
        "national_hardship_cause",
        "national_sudden_hardship",
        "local_relative_hardship",
        "grassroots_with_cause",
    ]
    assert proposal.trace[-1] == "tier: grassroots (grassroots_with_cause)"
    assert "650.00" in proposal.trace[0]


def test_not_eligible_rule_is_named_and_no_tier_rule_is_tried(policy):
    proposal = propose_tier(household(0, months=12, homes=3, owns_business=True), policy, 2018)
    assert proposal.not_eligible == ("owns_multiple_homes", "owns_business")
    assert proposal.trace[-1] == "tier: none (not eligible: owns_multiple_homes, owns_business)"
    assert not any("national_" in line for line in proposal.trace)


def test_reference_line_comes_from_the_county_and_year(policy):
    assert policy.reference_line("LY-XL", 2018) == (LINE, 2018)
    # A year without its own figure uses the newest earlier one, and the trace says which.
    assert policy.reference_line("LY-ZP", 2021) == (LINE, 2019)
    with pytest.raises(LookupError):
        policy.reference_line("LY-XL", 2014)
    with pytest.raises(LookupError):
        policy.reference_line("LY-QQ", 2018)


def test_income_comparison_is_exact_without_division():
    from fractions import Fraction

    three = household(1, members=3)
    # p = 1/3 fen per person against a line of 1/3 fen would tie only if nothing is rounded.
    assert income_within(three, Fraction(1, 3), 1, strictly_below=False)
    assert not income_within(three, Fraction(1, 3), 1, strictly_below=True)


def test_condolence_amounts_and_campaign_numbers_come_from_policy(policy):
    assert dict(policy.condolence) == {"national": 300_000, "local": 200_000, "grassroots": 100_000}
    assert policy.campaign_opens == ((4, 1), (10, 1))
    assert policy.campaign_days == 30
    assert policy.retention_years == 10
