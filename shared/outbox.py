"""Transactional outbox on single-document atomicity, and the relay that publishes it.

A state change and the events it causes are one ``update_one``: the events ride in the
document under ``outbox.<event_id>`` until the relay has published them with publisher
confirms, persistent delivery and ``mandatory``. A crash between the write and the publish
leaves ``outbox_pending`` set, so the next relay pass re-sends: a late event, never a lost one.
(Events are kept in a map, not an array: nx-27017 mangles ``$push`` of sub-documents.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from typing import Any, Protocol

from pymongo import UpdateOne
from pymongo.collection import Collection
from pymongo.errors import PyMongoError

from shared.events import Event

log = logging.getLogger(__name__)

PENDING = "outbox_pending"
REVISION = "outbox_rev"
# Whether the running green thread (a nameko worker) merged events into a write: the relay's
# provider wakes the relay when such a worker finishes. A context variable is per greenlet.
_appended: ContextVar[bool] = ContextVar("outbox_appended", default=False)


def insert_with_events(document: dict[str, Any], events: Iterable[Event]) -> dict[str, Any]:
    """Return a copy of a new document carrying ``events`` for the relay."""
    events = list(events)
    doc = dict(document)
    doc["outbox"] = {event.event_id: event.to_dict() for event in events}
    doc[REVISION] = 1
    if events:
        doc[PENDING] = True
        _appended.set(True)
    return doc


def update_with_events(update: dict[str, Any], events: Iterable[Event]) -> dict[str, Any]:
    """Merge ``events`` into a MongoDB update document, so they are written with the change."""
    merged = {op: dict(fields) for op, fields in update.items()}
    sets = merged.setdefault("$set", {})
    for event in events:
        sets[f"outbox.{event.event_id}"] = event.to_dict()
        sets[PENDING] = True
        _appended.set(True)
    merged.setdefault("$inc", {})[REVISION] = 1
    return merged


def forget_appended() -> None:
    """Start a unit of work (a worker) with no events appended yet."""
    _appended.set(False)


def appended_events() -> bool:
    """Whether events were merged into a write since :func:`forget_appended`, in this green
    thread (a write that then matched nothing only costs the relay an empty pass)."""
    return _appended.get()


class Publisher(Protocol):
    def publish(self, event: Event) -> None: ...


class OutboxRelay:
    """Publishes pending events of the given collections and marks them sent."""

    def __init__(self, collections: Sequence[Collection], publisher: Publisher, batch: int = 100):
        self._collections = list(collections)
        self._publisher = publisher
        self._batch = batch
        # Whether the last pass took a full batch from some collection: more may be waiting.
        self.more_pending = False

    def ensure_indexes(self) -> None:
        for collection in self._collections:
            collection.create_index([(PENDING, 1)], name="outbox_pending_idx", sparse=True)

    def relay_once(self) -> int:
        """One pass over every collection; returns how many events were published.

        Marking is one ``bulk_write`` per pass, so under load the relay costs the store two
        round trips per batch of documents rather than per event."""
        published = 0
        self.more_pending = False
        for collection in self._collections:
            marks = []
            taken = 0
            for doc in collection.find({PENDING: True}, {"outbox": 1, REVISION: 1}).limit(
                self._batch
            ):
                taken += 1
                sent, complete = self._publish_document(collection, doc)
                published += len(sent)
                marks.extend(self._marks(doc, sent, complete))
            if marks:
                self._apply_marks(collection, marks)
            self.more_pending = self.more_pending or taken >= self._batch
        return published

    def _publish_document(
        self, collection: Collection, doc: dict[str, Any]
    ) -> tuple[list[str], bool]:
        events = sorted((doc.get("outbox") or {}).values(), key=lambda e: e["occurred_at"])
        sent: list[str] = []
        try:
            for raw in events:
                self._publisher.publish(Event(**raw))
                sent.append(raw["event_id"])
        except Exception as exc:  # noqa: BLE001 - any broker failure: keep the rest for the next pass
            log.warning(
                "outbox publish failed, will retry",
                extra={
                    "collection": collection.name,
                    "document": str(doc["_id"]),
                    "error": repr(exc),
                },
            )
        return sent, len(sent) == len(events)

    @staticmethod
    def _marks(doc: dict[str, Any], sent: list[str], complete: bool) -> list[UpdateOne]:
        if not sent:
            return []
        # Always drop exactly the published events; clear the pending flag only if nobody
        # appended an event since we read the document (the revision is unchanged).
        marks = [UpdateOne({"_id": doc["_id"]}, {"$unset": {f"outbox.{eid}": "" for eid in sent}})]
        if complete:
            marks.append(
                UpdateOne(
                    {"_id": doc["_id"], REVISION: doc.get(REVISION), "outbox": {}},
                    {"$unset": {PENDING: ""}},
                )
            )
        return marks

    @staticmethod
    def _apply_marks(collection: Collection, marks: list[UpdateOne]) -> None:
        try:
            collection.bulk_write(marks, ordered=True)
        except PyMongoError:
            # Published but not marked: the next pass sends them again, consumers drop the repeat.
            log.exception(
                "could not mark outbox events sent", extra={"collection": collection.name}
            )
