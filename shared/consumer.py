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
