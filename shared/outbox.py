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
from typing import Any, Protocol

from kombu import Connection, Exchange
from pymongo import UpdateOne
from pymongo.collection import Collection
from pymongo.errors import PyMongoError

from shared.events import Event

log = logging.getLogger(__name__)

PENDING = "outbox_pending"
REVISION = "outbox_rev"
# The one nameko header events carry; consumers treat any other nameko.* header as foreign.
CORRELATION_HEADER = "nameko.correlation_id"


def insert_with_events(document: dict[str, Any], events: Iterable[Event]) -> dict[str, Any]:
    """Return a copy of a new document carrying ``events`` for the relay."""
    events = list(events)
    doc = dict(document)
    doc["outbox"] = {event.event_id: event.to_dict() for event in events}
    doc[REVISION] = 1
    if events:
        doc[PENDING] = True
    return doc


def update_with_events(update: dict[str, Any], events: Iterable[Event]) -> dict[str, Any]:
    """Merge ``events`` into a MongoDB update document, so they are written with the change."""
    merged = {op: dict(fields) for op, fields in update.items()}
    sets = merged.setdefault("$set", {})
    for event in events:
        sets[f"outbox.{event.event_id}"] = event.to_dict()
        sets[PENDING] = True
    merged.setdefault("$inc", {})[REVISION] = 1
    return merged


def exchange_for(producer: str) -> Exchange:
    """The topic exchange nameko's ``event_handler`` binds to for ``producer``'s events."""
    return Exchange(f"{producer}.events", type="topic", durable=True, delivery_mode=2)


class Publisher(Protocol):
    def publish(self, event: Event) -> None: ...


class UnroutableEvent(RuntimeError):
    """The broker returned a mandatory message: no queue is bound for it yet."""


class ConfirmedPublisher:
    """Publishes events persistently with publisher confirms and ``mandatory`` set.

    ``publish`` returns only once the broker has confirmed the message; an unroutable message
    (no queue bound yet) or a nack raises, and the caller keeps the event for a later pass.
    """

    def __init__(self, amqp_uri: str):
        self._connection = Connection(amqp_uri, transport_options={"confirm_publish": True})
        self._producer = None
        self._declared: set[str] = set()
        self._returned: set[str] = set()

    def _on_return(self, exception, exchange, routing_key, message):
        self._returned.add(message.properties.get("message_id", ""))

    def _ensure_producer(self):
        if self._producer is None:
            self._connection.ensure_connection(max_retries=3)
            self._producer = self._connection.Producer(serializer="json", on_return=self._on_return)
        return self._producer

    def publish(self, event: Event) -> None:
        producer = self._ensure_producer()
        exchange = exchange_for(event.producer)
        declare = [] if exchange.name in self._declared else [exchange]
        try:
            producer.publish(
                event.to_dict(),
                exchange=exchange,
                routing_key=event.event_type,
                delivery_mode=2,
                mandatory=True,
                headers={CORRELATION_HEADER: event.correlation_id},
                message_id=event.event_id,
                declare=declare,
            )
        except Exception:
            self.close()  # a nacked message or lost connection: start afresh next time
            raise
        self._declared.add(exchange.name)
        # The broker sends basic.return before the confirm, so the callback has already run.
        if event.event_id in self._returned:
            self._returned.discard(event.event_id)
            raise UnroutableEvent(f"no queue bound for {exchange.name}/{event.event_type}")

    def close(self) -> None:
        self._producer = None
        self._declared.clear()
        try:
            self._connection.release()
        except Exception:  # noqa: BLE001 - closing a broken connection must not mask the cause
            log.debug("closing a broken broker connection failed", exc_info=True)


class OutboxRelay:
    """Publishes pending events of the given collections and marks them sent."""

    def __init__(self, collections: Sequence[Collection], publisher: Publisher, batch: int = 100):
        self._collections = list(collections)
        self._publisher = publisher
        self._batch = batch

    def ensure_indexes(self) -> None:
        for collection in self._collections:
            collection.create_index([(PENDING, 1)], name="outbox_pending_idx", sparse=True)

    def relay_once(self) -> int:
        """One pass over every collection; returns how many events were published.

        Marking is one ``bulk_write`` per pass, so under load the relay costs the store two
        round trips per batch of documents rather than per event."""
        published = 0
        for collection in self._collections:
            marks = []
            for doc in collection.find({PENDING: True}, {"outbox": 1, REVISION: 1}).limit(
                self._batch
            ):
                sent, complete = self._publish_document(collection, doc)
                published += len(sent)
                marks.extend(self._marks(doc, sent, complete))
            if marks:
                self._apply_marks(collection, marks)
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
