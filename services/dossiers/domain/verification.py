"""Verification campaigns (入户核查): which day opens which campaign, and what a visit decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from services.dossiers.domain.policy import DossierPolicy
from services.dossiers.domain.tiers import TierProposal
from shared.events import SHANGHAI


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
class ProposalExpiry:
    """On ``today``, a proposal received (recorded) on a day before ``received_before`` has
    waited the policy's ``proposal_expiry_days`` unconfirmed: it expires under ``policy_version``."""

    today: date
    received_before: date
    policy_version: str

    @property
    def received_before_at(self) -> str:
        """Midnight starting ``received_before`` in the form of ``created_at`` (ISO with
        milliseconds, Asia/Shanghai), so the two compare as strings of one length: nx-27017
        misorders a string against its own prefix in an update's filter."""
        midnight = datetime.combine(self.received_before, time(), tzinfo=SHANGHAI)
        return midnight.isoformat(timespec="milliseconds")

    def is_due(self, received_at: str) -> bool:
        """``received_at``: the proposal's ``created_at``."""
        return received_at < self.received_before_at


def proposal_expiry(today: date, policy: DossierPolicy) -> ProposalExpiry | None:
    """Which proposals expire on ``today`` (received ``proposal_expiry_days`` or more days
    before it); None when the policy in force sets no limit. The age counts from the day the
    proposal was recorded, not its stated ``intake_date``, so a replay of a past year's intakes
    does not expire them on arrival."""
    if policy.proposal_expiry_days is None:
        return None
    received_before = today - timedelta(days=policy.proposal_expiry_days - 1)
    return ProposalExpiry(today, received_before, policy.version)


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
