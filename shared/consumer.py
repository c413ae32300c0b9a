"""The idempotent consumer: an event's effect and the record that it was applied are one write."""

from __future__ import annotations

from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

APPLIED = "applied_events"


def apply_once(
    collection: Collection,
    selector: dict[str, Any],
    update: dict[str, Any],
    event_id: str,
    *,
    upsert: bool = False,
) -> bool:
    """Apply ``update`` to the document matching ``selector`` unless ``event_id`` was applied
    to it before; returns whether it was applied now.

    The guard (``applied_events.<id>`` absent) and the mark (``applied_events.<id>`` set) ride in
    the same ``update_one`` as the effect, so a redelivered event can never apply twice, even
    when two consumers race. With ``upsert`` the selector must pin ``_id``: a repeat then
    collides with the document the first delivery created. Raises LookupError when no document
    matches and ``upsert`` is off: an effect with nowhere to land must not pass silently.
    """
    guarded = {**selector, f"{APPLIED}.{event_id}": {"$exists": False}}
    marked = {op: dict(fields) for op, fields in update.items()}
    marked.setdefault("$set", {})[f"{APPLIED}.{event_id}"] = True
    try:
        result = collection.update_one(guarded, marked, upsert=upsert)
    except DuplicateKeyError:
        return False  # the upsert met the document an earlier delivery created: applied before
    if result.matched_count or result.upserted_id is not None:
        return True
    if collection.count_documents({**selector, f"{APPLIED}.{event_id}": True}, limit=1):
        return False
    raise LookupError(f"no document matches {selector} for event {event_id}")


def record_dossier_head(
    collection: Collection, event, status: str, tier: str | int | None = None
) -> bool:
    """Keep a service's read model of dossier heads (one row per dossier, from the dossiers
    events) once per event, and only when the event's revision is newer: an older or repeated
    revision matches nothing, so the upsert collides with the row a newer event created and is
    dropped (duplicates and late arrivals change nothing). The tier is kept when the event
    states one."""
    payload = event.payload
    fields: dict[str, Any] = {"status": status}
    if tier is not None:
        fields["tier"] = tier
    return apply_once(
        collection,
        {"_id": payload["dossier_id"], "revision": {"$lt": payload["revision"]}},
        {
            "$set": {
                **fields,
                "head_id_hash": payload["head_id_hash"],
                "county": payload["county"],
                "revision": payload["revision"],
                "last_event": event.event_type,
            }
        },
        event.event_id,
        upsert=True,
    )
