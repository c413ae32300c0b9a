"""Tier proposal (建档分级): the household against the entry rules, one trace line per rule tried."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from services.dossiers.domain.policy import DossierPolicy, TierRule
from shared.money import format_fen

TIER_RANK = {"national": 3, "local": 2, "grassroots": 1, None: 0}


@dataclass(frozen=True)
class Assets:
    homes: int = 1
    owns_business: bool = False
    private_school_or_abroad: bool = False
    non_work_vehicle: bool = False


@dataclass(frozen=True)
class Household:
    """What the rules read of a household; incomes in fen per month."""

    county: str
    member_incomes: tuple[int, ...]
    monthly_rigid_expenditure: int
    months_below_line: int
    causes: frozenset[str]
    assets: Assets

    @property
    def net_income(self) -> int:
        return sum(self.member_incomes) - self.monthly_rigid_expenditure

    @property
    def size(self) -> int:
        return len(self.member_incomes)


@dataclass(frozen=True)
class TierProposal:
    tier: str | None
    rule: str | None  # the rule that decided, or the not-eligible rule that blocked
    not_eligible: tuple[str, ...]
    trace: tuple[str, ...]
    reference_line: int
    policy_version: str


def not_eligible_reasons(assets: Assets, policy: DossierPolicy) -> list[tuple[str, bool, str]]:
    """(code, blocks, trace text) for each not-eligible rule (不宜建档)."""
    return [
        (
            "owns_multiple_homes",
            assets.homes >= policy.not_eligible_homes,
            f"homes {assets.homes} (blocks at ≥ {policy.not_eligible_homes})",
        ),
        ("owns_business", assets.owns_business, "owns a business or employs others"),
        (
            "private_school_or_abroad",
            assets.private_school_or_abroad,
            "child at a high-fee private school or self-funded study abroad",
        ),
        (
            "non_work_vehicle",
            assets.non_work_vehicle,
            "owns a motor vehicle not used for hired work",
        ),
    ]


def income_within(
    household: Household, multiple: Fraction, line: int, strictly_below: bool
) -> bool:
    """Σ − rigid against multiple × line × n, multiplied out so nothing is rounded or divided."""
    left = household.net_income * multiple.denominator
    right = multiple.numerator * line * household.size
    return left < right if strictly_below else left <= right


def _rule_met(rule: TierRule, household: Household, line: int) -> tuple[bool, str]:
    sign = "<" if rule.below else "≤"
    met_income = income_within(household, rule.multiple, line, rule.below)
    parts = [
        f"p {sign} {rule.multiple.numerator / rule.multiple.denominator:g} × line: {_yes(met_income)}"
    ]
    met = met_income
    if rule.min_months_below_line:
        months_ok = household.months_below_line >= rule.min_months_below_line
        parts.append(
            f"months below line {household.months_below_line} ≥ {rule.min_months_below_line}: "
            f"{_yes(months_ok)}"
        )
        met = met and months_ok
    if rule.causes:
        matching = sorted(household.causes & rule.causes)
        parts.append(f"cause among {', '.join(sorted(rule.causes))}: {', '.join(matching) or 'no'}")
        met = met and bool(matching)
    if rule.any_cause:
        parts.append(f"a recorded cause: {_yes(bool(household.causes))}")
        met = met and bool(household.causes)
    return met, "; ".join(parts)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def propose_tier(household: Household, policy: DossierPolicy, year: int) -> TierProposal:
    """The highest tier whose rule the household meets, or None, with the rule trace."""
    line, line_year = policy.reference_line(household.county, year)
    trace = [
        f"reference line (低保) {household.county} {line_year}: {format_fen(line)} per person "
        f"per month ({policy.version})",
        f"per capita p = ({format_fen(sum(household.member_incomes))} − rigid "
        f"{format_fen(household.monthly_rigid_expenditure)}) ÷ {household.size} members",
    ]
    blocked = []
    for code, blocks, text in not_eligible_reasons(household.assets, policy):
        trace.append(f"not eligible {code} ({text}): {'BLOCKS' if blocks else 'no'}")
        if blocks:
            blocked.append(code)
    if blocked:
        trace.append(f"tier: none (not eligible: {', '.join(blocked)})")
        return TierProposal(None, blocked[0], tuple(blocked), tuple(trace), line, policy.version)
    for rule in policy.tier_rules:
        met, text = _rule_met(rule, household, line)
        trace.append(f"{rule.tier} {rule.code}: {text} → {'met' if met else 'not met'}")
        if met:
            trace.append(f"tier: {rule.tier} ({rule.code})")
            return TierProposal(rule.tier, rule.code, (), tuple(trace), line, policy.version)
    trace.append("tier: none (no rule met)")
    return TierProposal(None, None, (), tuple(trace), line, policy.version)
