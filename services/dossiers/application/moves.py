"""A dossier leaves (exit, its members released) or moves inside the city (transfer, still open)."""

from __future__ import annotations

from datetime import date

from services.dossiers.application.dossiers import (
    CHANGED_MEANWHILE,
    audit,
    audit_backdating,
    dossier_event,
    open_for_change,
)
from services.dossiers.store import DossierStore
from shared.auth import StaffPrincipal
from shared.business_dates import BusinessDate
from shared.domain_errors import Conflict, RuleViolation


def exit_dossier(
    store: DossierStore,
    policy_dir: str,
    staff: StaffPrincipal,
    dossier_id: str,
    reason: str,
    exited_on: BusinessDate,
    today: date,
    correlation_id: str,
) -> dict:
    dossier = open_for_change(store, policy_dir, staff, dossier_id, today)
    on = exited_on.day
    exited = dossier_event(
        "dossier_exited",
        {
            "dossier_id": dossier_id,
            "head_id_hash": dossier["head_id_hash"],
            "county": dossier["county"],
            "revision": dossier["revision"] + 1,
            "reason": reason,
            "exited_on": on,
        },
        correlation_id,
    )
    if store.close_dossier(dossier_id, dossier["revision"], reason, on, exited) is None:
        raise Conflict(CHANGED_MEANWHILE)
    audit(store, staff, "exit", dossier_id, dossier["org"], {"reason": reason})
    audit_backdating(store, staff, exited_on, "exited_on", dossier_id, dossier["org"])
    return {
        "dossier_id": dossier_id,
        "status": "closed",
        "exit_reason": reason,
        "closed_on": on.isoformat(),
    }


def transfer(
    store: DossierStore,
    policy_dir: str,
    staff: StaffPrincipal,
    dossier_id: str,
    county: str,
    org: str,
    transferred_on: BusinessDate,
    today: date,
    correlation_id: str,
) -> dict:
    """A move inside the city: the dossier changes county and stays open (not an exit)."""
    dossier = open_for_change(store, policy_dir, staff, dossier_id, today)
    if county == dossier["county"] and org == dossier["org"]:
        raise RuleViolation("the dossier is already there", "county")
    transferred = dossier_event(
        "dossier_transferred",
        {
            "dossier_id": dossier_id,
            "head_id_hash": dossier["head_id_hash"],
            "county": county,
            "revision": dossier["revision"] + 1,
            "county_from": dossier["county"],
            "org": org,
            "transferred_on": transferred_on.day,
        },
        correlation_id,
    )
    if store.transfer(dossier_id, dossier["revision"], county, org, transferred) is None:
        raise Conflict(CHANGED_MEANWHILE)
    audit(
        store,
        staff,
        "transfer",
        dossier_id,
        dossier["org"],
        {"county_from": dossier["county"], "county": county},
    )
    audit_backdating(store, staff, transferred_on, "transferred_on", dossier_id, dossier["org"])
    return {"dossier_id": dossier_id, "county": county, "org": org}
