"""jobs.dossier_holder_hired: a dossier head was hired through the employment supermarket. When
the dossier as we hold it is open, headed by that person and unemployment is among its causes,
staff get a re-evaluation task (a visit answers it; the visit's re-evaluation is the proposal
they confirm, as for any visit). Anything else is ignored, with its reason kept beside the event
id and logged. Plain Python over the store (no nameko)."""

from __future__ import annotations

import logging
from datetime import date

from services.dossiers.domain.hires import DossierFacts, judge_hire
from services.dossiers.store import DossierStore, now_iso

log = logging.getLogger(__name__)

LIST_LIMIT = 500


def task_id(intent_id: str) -> str:
    """One task per hire (the jobs intent), whatever number of events announce it."""
    return f"hired-{intent_id}"


def on_holder_hired(store: DossierStore, event_id: str, payload: dict, today: date) -> dict:
    """Judge the hire against the dossier and keep the outcome once per event id; returns the
    signal as recorded (``outcome`` ``re_evaluation`` or ``ignored``, with ``reason``)."""
    dossier = store.dossier(payload["dossier_id"])
    facts = (
        None
        if dossier is None
        else DossierFacts(dossier["status"], dossier["head_id_hash"], frozenset(dossier["causes"]))
    )
    hired_on = payload["hired_on"]
    judgement = judge_hire(facts, payload["head_id_hash"], hired_on, today)
    signal = {
        "outcome": "re_evaluation" if judgement.re_evaluate else "ignored",
        "reason": judgement.reason,
        "intent_id": payload["intent_id"],
        "dossier_id": payload["dossier_id"],
        "hired_on": hired_on.isoformat(),
    }
    task = None
    if judgement.re_evaluate:
        # The dossier's own county and org, not the event's: a transfer may have moved it.
        task = {
            "_id": task_id(payload["intent_id"]),
            "dossier_id": dossier["_id"],
            "county": dossier["county"],
            "org": dossier["org"],
            "reason": "hired",
            "intent_id": payload["intent_id"],
            "hired_on": hired_on.isoformat(),
            "event_id": event_id,
            "status": "pending",
            "created_at": now_iso(),
        }
    new = store.record_hire(event_id, signal, task)
    extra = {
        "event_id": event_id,
        "dossier_id": payload["dossier_id"],
        "outcome": signal["outcome"],
        "reason": signal["reason"],
        "new": new,
    }
    if judgement.re_evaluate:
        log.info("dossier head hired: re-evaluation task", extra=extra)
    else:
        log.info("dossier head hired: ignored", extra=extra)
    return signal


def task_view(doc: dict) -> dict:
    return {
        "task_id": doc["_id"],
        "dossier_id": doc["dossier_id"],
        "county": doc["county"],
        "org": doc["org"],
        "reason": doc["reason"],
        "hired_on": doc["hired_on"],
        "status": doc["status"],
        "created_at": doc["created_at"],
        "visit_id": doc.get("visit_id"),
    }


def list_tasks(store: DossierStore, org: str, filters: dict) -> dict:
    found = store.list_reevaluation_tasks(org, filters["county"], filters["status"], LIST_LIMIT)
    return {"tasks": [task_view(d) for d in found]}
