"""Opening a year's campaign (its window, budget and the amount table of the policy in force)
and raising its budget."""

from __future__ import annotations

from datetime import date

from services.student_aid.domain.policy import SERVICE, StudentAidPolicy
from services.student_aid.store import StudentAidStore
from shared.domain_errors import Conflict, RuleViolation
from shared.money import format_fen
from shared.policy import policy_in_force, policy_store


def policy_for_year(policy_dir: str, year: int) -> StudentAidPolicy:
    """The version in force on 1 January of the campaign's year."""
    return policy_in_force(policy_dir, SERVICE, date(year, 1, 1), StudentAidPolicy.from_document)


def policy_of(policy_dir: str, campaign: dict) -> StudentAidPolicy:
    """The version a campaign was opened under: its applications are decided by it."""
    document = policy_store(policy_dir, SERVICE).by_version(campaign["policy_version"])
    return StudentAidPolicy.from_document(document)


def open_campaign(store: StudentAidStore, policy_dir: str, data: dict, by: str) -> dict:
    """Store the year's campaign (one per year: a second is a Conflict naming ``year``)."""
    year = data["year"]
    policy = policy_for_year(policy_dir, year)
    default_opens, default_closes = policy.default_window(year)
    campaign = {
        "year": year,
        "opens_on": (data["opens_on"] or default_opens).isoformat(),
        "closes_on": (data["closes_on"] or default_closes).isoformat(),
        "budget_fen": data["budget"],
        "amounts_fen": dict(policy.amount_by_level),
        "policy_version": policy.version,
        "policy_digest": policy.digest,
        "received_count": 0,
        "created_by": by,
    }
    if not store.open_campaign(campaign):
        raise Conflict(f"the {year} campaign exists already", "year")
    return store.campaign(year)


def raise_budget(store: StudentAidStore, year: int, budget_fen: int, by: str) -> dict | None:
    """Raise the campaign's budget (None: no such campaign); a lower one is refused, as awards
    approved within the old one stand. Waitlisted awards are approved in order when the
    approvals run again over the new budget."""
    campaign = store.campaign(year)
    if campaign is None:
        return None
    raised = store.raise_campaign_budget(year, budget_fen, by)
    if raised is None:
        raise RuleViolation(
            f"the budget can only be raised (it is {format_fen(campaign['budget_fen'])})", "budget"
        )
    return raised


def campaign_view(campaign: dict) -> dict:
    return {
        "campaign": campaign["_id"],
        "opens_on": date.fromisoformat(campaign["opens_on"]),
        "closes_on": date.fromisoformat(campaign["closes_on"]),
        "budget": campaign["budget_fen"],
        "amounts": campaign["amounts_fen"],
        "policy_version": campaign["policy_version"],
    }
