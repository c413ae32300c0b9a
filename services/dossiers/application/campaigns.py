"""Verification campaigns (核查): opened once on their day with one task per open dossier;
closing flags every unvisited dossier ``verification_overdue`` with its event.

Plain Python over the store (no nameko), like the condolence batch: the service's RPC, its
timer and tests run the same steps, and every step is idempotent (deterministic ids), so
several replicas or a resumed run do each thing once."""

from __future__ import annotations

import logging
from datetime import date

from services.dossiers.domain.policy import SERVICE, DossierPolicy
from services.dossiers.domain.verification import campaign_closes_on, campaign_id
from services.dossiers.store import DossierStore, now_iso
from shared.domain_errors import Conflict
from shared.errors import not_found
from shared.events import make_event

log = logging.getLogger(__name__)


def open_campaign(
    store: DossierStore, policy: DossierPolicy, opened_on: date, opened_by: str
) -> tuple[dict, bool]:
    """Open the campaign of ``opened_on`` once, however many replicas or staff try: its id
    is deterministic, so every later insert collides; an opening cut short is resumed."""
    cid = campaign_id(opened_on)
    created = store.create_campaign(
        {
            "_id": cid,
            "status": "opening",
            "opened_on": opened_on.isoformat(),
            "closes_on": campaign_closes_on(opened_on, policy).isoformat(),
            "opened_by": opened_by,
            "created_at": now_iso(),
        }
    )
    campaign = store.campaign(cid)
    if campaign["status"] == "opening":
        tasks = [
            {
                "_id": f"{cid}:{doc['_id']}",
                "campaign_id": cid,
                "dossier_id": doc["_id"],
                "county": doc["county"],
                "org": doc["org"],
                "status": "pending",
            }
            for doc in store.open_dossiers()
        ]
        store.insert_tasks(tasks)
        store.campaign_opened(cid)
        campaign = store.campaign(cid)
        log.info("verification campaign opened", extra={"campaign_id": cid, "new": created})
    return campaign, created


def close_campaign(store: DossierStore, campaign: dict, correlation_id: str) -> dict:
    """Flag every unvisited dossier ``verification_overdue`` (with its event), then close."""
    cid = campaign["_id"]
    if campaign["status"] == "open":
        store.campaign_closing(cid)
    for task in store.pending_tasks(cid):
        flag_overdue(store, task, correlation_id)
    store.mark_tasks_overdue([t["_id"] for t in store.pending_tasks(cid)])
    store.campaign_closed(cid)
    return store.campaign(cid)


def flag_overdue(store: DossierStore, task: dict, correlation_id: str) -> None:
    cid, dossier_id = task["campaign_id"], task["dossier_id"]
    for _ in range(5):
        dossier = store.dossier(dossier_id)
        if dossier is None or dossier["status"] != "open":
            return
        if dossier.get("overdue_in") == cid:
            return  # flagged by an earlier, interrupted close
        # The visit is written on the dossier first and on its task second: a crash between
        # the two leaves the task pending, but the dossier knows it was visited.
        visit_id = next(
            (
                vid
                for vid, v in (dossier.get("visits") or {}).items()
                if v.get("campaign_id") == cid
            ),
            None,
        )
        if visit_id is not None:
            store.mark_task_visited(task["_id"], visit_id)
            return
        overdue = make_event(
            "verification_overdue",
            {
                "dossier_id": dossier_id,
                "head_id_hash": dossier["head_id_hash"],
                "county": dossier["county"],
                "revision": dossier["revision"] + 1,
                "campaign_id": cid,
            },
            producer=SERVICE,
            correlation_id=correlation_id,
        )
        if store.flag_overdue(dossier_id, dossier["revision"], cid, overdue):
            return


def campaign_view(campaign: dict) -> dict:
    return {
        "campaign_id": campaign["_id"],
        "status": campaign["status"],
        "opened_on": campaign["opened_on"],
        "closes_on": campaign["closes_on"],
        "tasks": campaign.get("tasks", 0),
        "overdue": campaign.get("overdue"),
    }


def find_campaign(store: DossierStore, campaign_id_: str) -> dict:
    campaign = store.campaign(campaign_id_)
    if campaign is None:
        raise not_found("campaign")
    return campaign


def close_by_staff(store: DossierStore, campaign_id_: str, correlation_id: str) -> dict:
    """Close the campaign before its day (the timer closes it on ``closes_on``)."""
    campaign = find_campaign(store, campaign_id_)
    if campaign["status"] == "opening":
        raise Conflict("the campaign is still opening")
    return campaign_view(close_campaign(store, campaign, correlation_id))
