"""Verification campaigns (入户核查): which day opens which campaign, and what a visit decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.dossiers.domain.policy import DossierPolicy
from services.dossiers.domain.tiers import TierProposal

# Exit reasons a staff member may give; a move inside the city is a transfer, never an exit.
STAFF_EXIT_REASONS = ("income_above_line", "death_or_dissolved", "moved_out_of_city", "fraud")


def campaign_id(opened_on: date) -> str:
    """Deterministic per month, so every replica opening the same campaign collides on it."""
    return f"{opened_on:%Y-%m}"


def campaign_due_on(day: date, policy: DossierPolicy) -> bool:
    """True when ``day`` is one of the policy's campaign opening days (1 April, 1 October)."""
    return (day.month, day.day) in policy.campaign_opens


def campaign_closes_on(opened_on: date, policy: DossierPolicy) -> date:
    return opened_on + timedelta(days=policy.campaign_days)


def retention_cutoff(today: date, policy: DossierPolicy) -> date:
    """Dossiers closed on or before this day have been kept ``retention_years``: purge them.
    (From 29 February the cutoff is 28 February.)"""
    years = policy.retention_years
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def purge_due(closed_on: date, today: date, policy: DossierPolicy) -> bool:
    return closed_on <= retention_cutoff(today, policy)


@dataclass(frozen=True)
class VisitOutcome:
    """What a home visit's re-evaluation means for the dossier."""

    kind: str  # "unchanged", "tier_changed" or "exit"
    tier: str | None
    exit_reason: str | None = None


def evaluate_visit(current_tier: str, proposal: TierProposal) -> VisitOutcome:
    """Out of hardship, out of the archive (脱困即退档): no tier fits → exit; another tier
    fits → tier change; the same tier → unchanged."""
    if proposal.tier is None:
        reason = "not_eligible" if proposal.not_eligible else "income_above_line"
        return VisitOutcome("exit", None, reason)
    if proposal.tier != current_tier:
        return VisitOutcome("tier_changed", proposal.tier)
    return VisitOutcome("unchanged", current_tier)
