"""Steps every dossier use case shares: the policy in force, finding a dossier the caller may
see (expiring a proposal that is due), the events it emits and the audit entries it leaves."""

from __future__ import annotations

from datetime import date

from services.dossiers.domain.policy import SERVICE, DossierPolicy
from services.dossiers.domain.tiers import Assets, Household
from services.dossiers.domain.verification import ProposalExpiry, proposal_expiry
from services.dossiers.store import DossierStore
from shared.auth import StaffPrincipal
from shared.business_dates import BusinessDate
from shared.domain_errors import Conflict
from shared.errors import not_found
from shared.events import Event, make_event
from shared.policy import policy_in_force

CHANGED_MEANWHILE = "the dossier changed meanwhile; read it again"


def policy_on(policy_dir: str, day: date) -> DossierPolicy:
    return policy_in_force(policy_dir, SERVICE, day, DossierPolicy.from_document)


def expiry_on(policy_dir: str, today: date) -> ProposalExpiry | None:
    return proposal_expiry(today, policy_on(policy_dir, today))


def household_of(doc: dict, *, money_suffix: str = "_fen") -> Household:
    """The household as the tier rules read it: from a stored dossier (amounts under
    ``*_fen`` keys) or, with ``money_suffix=""``, from an intake request's loaded body (the same
    amounts, already in fen, under the contract's field names)."""
    return Household(
        county=doc["county"],
        member_incomes=tuple(m[f"monthly_income{money_suffix}"] for m in doc["members"]),
        monthly_rigid_expenditure=doc[f"monthly_rigid_expenditure{money_suffix}"],
        months_below_line=doc["months_below_line"],
        causes=frozenset(doc["causes"]),
        assets=Assets(**doc["assets"]),
    )


def household_of_request(data: dict) -> Household:
    """The household an intake request describes (its loaded body), as the tier rules read it."""
    return household_of(data, money_suffix="")


def visible(
    store: DossierStore, policy_dir: str, staff: StaffPrincipal, dossier_id: str, today: date
) -> dict:
    dossier = store.dossier(dossier_id)
    # Existence must not leak across org units: outside your scope reads as not found.
    if dossier is None or not staff.can_see(dossier["org"]):
        raise not_found("dossier")
    if dossier["status"] == "proposed":
        # Expiry is also evaluated here, so no read or confirmation sees a stale proposal
        # between two scheduler ticks.
        expiry = expiry_on(policy_dir, today)
        if expiry and expiry.is_due(dossier["created_at"]):
            store.expire_proposal(dossier_id, expiry)
            dossier = store.dossier(dossier_id)
    return dossier


def open_for_change(
    store: DossierStore, policy_dir: str, staff: StaffPrincipal, dossier_id: str, today: date
) -> dict:
    dossier = visible(store, policy_dir, staff, dossier_id, today)
    if dossier["status"] != "open":
        raise Conflict(f"dossier is {dossier['status']}: only an open dossier changes")
    return dossier


def dossier_event(event_type: str, payload: dict, correlation_id: str) -> Event:
    return make_event(event_type, payload, producer=SERVICE, correlation_id=correlation_id)


def audit(
    store: DossierStore, staff: StaffPrincipal, action: str, target: str, org, detail: dict
) -> None:
    store.audit(actor=staff.to_claims(), action=action, target=target, org=org, detail=detail)


def audit_backdating(
    store: DossierStore, staff: StaffPrincipal, stated: BusinessDate, field: str, target: str, org
) -> None:
    if stated.backdated_by_role:
        audit(store, staff, "backdate", target, org, stated.audit_detail(field))
