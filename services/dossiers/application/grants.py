"""Assistance grants (帮扶) on the household's ledger: from a fund, never overdrawing it, or
recorded from another service's payment. Plain Python over the store (no nameko)."""

from __future__ import annotations

import uuid
from datetime import date

from services.dossiers.application.dossiers import audit, audit_backdating, open_for_change
from services.dossiers.application.views import fund_view
from services.dossiers.domain.errors import FundInsufficient
from services.dossiers.domain.policy import SERVICE
from services.dossiers.store import DossierStore
from shared.auth import StaffPrincipal
from shared.business_dates import BusinessDate
from shared.domain_errors import Conflict, RuleViolation
from shared.events import Event, make_event
from shared.money import format_fen

# Grants paid by mutual aid and student aid come from their own schemes, not a fund here.
MUTUAL_AID_FUND = "mutual_aid"
STUDENT_AID_FUND = "student_aid"


def grant_event(dossier: dict, grant: dict, granted_on: date, correlation_id: str) -> Event:
    return make_event(
        "assistance_granted",
        {
            "grant_id": grant["grant_id"],
            "dossier_id": dossier["_id"],
            "head_id_hash": dossier["head_id_hash"],
            "county": dossier["county"],
            "type": grant["type"],
            "amount_fen": grant["amount_fen"],
            "fund": grant["fund"],
            "source": grant["source"],
            "granted_on": granted_on,
        },
        producer=SERVICE,
        correlation_id=correlation_id,
    )


def grant_from_fund(
    store: DossierStore,
    dossier: dict,
    data: dict,
    approver: str,
    granted_on: date,
    correlation_id: str,
) -> dict:
    """Reserve the amount on the fund's year (a conditional ``$inc``: never overdrawn, even
    under concurrent grants), then write the ledger entry with its event on the dossier. If
    the dossier closed in between, the reservation is given back."""
    year, amount, fund = granted_on.year, data["amount"], data["fund"]
    grant_id = uuid.uuid4().hex
    if not store.reserve(fund, year, amount, grant_id):
        fund_doc = store.fund(fund, year)
        if fund_doc is None:
            raise RuleViolation(f"fund {fund} has no budget for {year}", "fund")
        remaining = fund_doc["budget_fen"] - fund_doc["spent_fen"]
        raise FundInsufficient(
            f"基金 {fund} {year} 年余额 {format_fen(remaining)} 元，不足以支付 "
            f"{format_fen(amount)} 元。",
            "amount",
        )
    grant = {
        "grant_id": grant_id,
        "type": data["type"],
        "amount_fen": amount,
        "fund": fund,
        "source": SERVICE,
        "approver": approver,
        "granted_on": granted_on.isoformat(),
    }
    if not store.record_grant(
        dossier["_id"], grant, grant_event(dossier, grant, granted_on, correlation_id)
    ):
        store.release(fund, year, amount, grant_id)
        raise Conflict("the dossier closed meanwhile; nothing was granted")
    return grant


def record_mutual_aid_grant(store: DossierStore, payload: dict, correlation_id: str) -> bool | None:
    """Mutual aid paid a member: if they head an open dossier, it goes on the household's
    ledger once (the ledger key is the claim). None when they head no open dossier, else
    whether it was recorded now."""
    grant = {
        "grant_id": f"mutual_aid-{payload['claim_id']}",
        "type": "medical",
        "amount_fen": payload["amount_fen"],
        "fund": MUTUAL_AID_FUND,
        "source": "mutual_aid",
    }
    return record_paid_elsewhere(store, payload["member_id_hash"], grant, payload, correlation_id)


def record_student_aid_grant(
    store: DossierStore, payload: dict, correlation_id: str
) -> bool | None:
    """Student aid paid a child's award: if the parent heads an open dossier, an education
    grant goes on the household's ledger once (the ledger key is the award). None when the
    parent heads no open dossier, else whether it was recorded now."""
    grant = {
        "grant_id": f"student_aid-{payload['application_id']}",
        "type": "education",
        "amount_fen": payload["amount_fen"],
        "fund": STUDENT_AID_FUND,
        "source": "student_aid",
        "campaign": payload["campaign"],
    }
    return record_paid_elsewhere(store, payload["parent_id_hash"], grant, payload, correlation_id)


def record_paid_elsewhere(
    store: DossierStore, head_id_hash: str, grant: dict, payload: dict, correlation_id: str
) -> bool | None:
    """A grant another service paid goes on the ledger of the open dossier ``head_id_hash``
    heads, drawing nothing from our funds; None when they head none."""
    dossier = store.open_dossier_headed_by(head_id_hash)
    if dossier is None:
        return None
    paid_on = date.fromisoformat(str(payload["paid_on"]))
    grant = {**grant, "approver": None, "granted_on": paid_on.isoformat()}
    return store.record_grant(
        dossier["_id"], grant, grant_event(dossier, grant, paid_on, correlation_id)
    )


def set_fund(store: DossierStore, staff: StaffPrincipal, fund: str, year: int, budget: int) -> dict:
    """Create a fund-year or change its budget (never below what is already spent); audited."""
    try:
        doc = store.set_fund(fund, year, budget)
    except ValueError as exc:
        raise RuleViolation(str(exc), "budget") from None
    audit(store, staff, "set_fund", doc["_id"], None, {"budget_fen": budget})
    return fund_view(doc)


def grant(
    store: DossierStore,
    policy_dir: str,
    staff: StaffPrincipal,
    data: dict,
    stated: BusinessDate,
    today: date,
    correlation_id: str,
) -> dict:
    """A grant from a fund to an open dossier the caller may see; audited."""
    dossier = open_for_change(store, policy_dir, staff, data["dossier_id"], today)
    granted = grant_from_fund(store, dossier, data, staff.sub, stated.day, correlation_id)
    grant_id, amount, fund, year = (
        granted["grant_id"],
        granted["amount_fen"],
        granted["fund"],
        stated.day.year,
    )
    audit(
        store,
        staff,
        "grant",
        dossier["_id"],
        dossier["org"],
        {"grant_id": grant_id, "amount_fen": amount, "fund": fund, "type": data["type"]},
    )
    audit_backdating(store, staff, stated, "granted_on", dossier["_id"], dossier["org"])
    fund_doc = store.fund(fund, year)
    return {
        "grant_id": grant_id,
        "dossier_id": dossier["_id"],
        "type": data["type"],
        "amount": amount,
        "fund": fund,
        "year": year,
        "fund_remaining": fund_doc["budget_fen"] - fund_doc["spent_fen"],
    }
