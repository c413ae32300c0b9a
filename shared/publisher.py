"""The one confirmed publisher: persistent delivery, publisher confirms and ``mandatory``, used
by the outbox relay for events and by the retrying event handler and dead-letter replays."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from eventlet.queue import LightQueue
from eventlet.semaphore import Semaphore
from kombu import Connection, Exchange, Queue

from shared.events import Event

log = logging.getLogger(__name__)

# The one nameko header events carry; consumers treat any other nameko.* header as foreign.
CORRELATION_HEADER = "nameko.correlation_id"
# Reconnects tried within one publish before it fails (the caller keeps the message).
PUBLISH_RETRIES = 3


def exchange_for(producer: str) -> Exchange:
    """The topic exchange nameko's ``event_handler`` binds to for ``producer``'s events."""
    return Exchange(f"{producer}.events", type="topic", durable=True, delivery_mode=2)


class UnroutableEvent(RuntimeError):
    """The broker returned a mandatory message: no queue is bound for it yet."""


class ConfirmedPublisher:
    """Publishes persistently with publisher confirms and ``mandatory`` set, one message at a
    time (the workers of a provider share it).

    A send returns only once the broker has confirmed the message; an unroutable message (no
    queue bound) or a nack raises, and the caller keeps the message for later.
    """

    def __init__(self, amqp_uri: str):
        self._connection = Connection(amqp_uri, transport_options={"confirm_publish": True})
        self._lock = Semaphore()
        self._producer = None
        self._returned: set[str] = set()

    def publish(self, event: Event) -> None:
        """An event, to its producer's exchange under its type."""
        self.send(
            event.to_dict(),
            exchange_for(event.producer),
            event.event_type,
            headers={CORRELATION_HEADER: event.correlation_id},
            message_id=event.event_id,
        )

    def send_to_queue(self, body: dict, queue: Queue, headers: dict) -> None:
        """A message to one queue through its exchange (a retry, a replay), declaring the
        queue unless it is marked ``no_declare`` (a handler's own queue, bound by its handler)."""
        self.send(body, queue.exchange, queue.routing_key, headers=headers, declare=[queue])

    def send(
        self,
        body: dict,
        exchange: Exchange,
        routing_key: str,
        *,
        headers: dict,
        message_id: str | None = None,
        declare: Sequence[Exchange | Queue] = (),
    ) -> None:
        message_id = message_id or str(uuid.uuid4())
        with self._lock:
            try:
                producer = self._ensure_producer()
                producer.publish(
                    body,
                    exchange=exchange,
                    routing_key=routing_key,
                    delivery_mode=2,
                    mandatory=True,
                    headers=headers,
                    message_id=message_id,
                    declare=[exchange, *declare],  # kombu declares each once per connection
                    retry=True,
                    retry_policy={"max_retries": PUBLISH_RETRIES},
                )
            except Exception:
                self.close()  # a nacked message or lost connection: start afresh next time
                raise
            # The broker sends basic.return before the confirm, so the callback has already run.
            if message_id in self._returned:
                self._returned.discard(message_id)
                # A queue deleted meanwhile (a retry's holding queue) is declared again next time.
                self._connection.declared_entities.clear()
                raise UnroutableEvent(f"no queue bound for {exchange.name}/{routing_key}")

    def _on_return(self, exception, exchange, routing_key, message):
        self._returned.add(message.properties.get("message_id", ""))

    def _ensure_producer(self):
        if self._producer is None:
            self._connection.ensure_connection(max_retries=PUBLISH_RETRIES)
            self._producer = self._connection.Producer(serializer="json", on_return=self._on_return)
        return self._producer

    def close(self) -> None:
        self._producer = None
        try:
            self._connection.release()
        except Exception:  # noqa: BLE001 - closing a broken connection must not mask the cause
            log.debug("closing a broken broker connection failed", exc_info=True)


class PublisherPool:
    """Several :class:`ConfirmedPublisher` connections for concurrent callers (the gateway's
    HTTP workers): each publish still returns only once the broker confirmed it, but up to
    ``size`` confirms are awaited at once instead of one after another, so the broker writes
    them to disk together rather than paying a disk sync per message in turn."""

    def __init__(self, amqp_uri: str, size: int):
        self._all = [ConfirmedPublisher(amqp_uri) for _ in range(size)]
        self._idle: LightQueue = LightQueue()
        for publisher in self._all:
            self._idle.put(publisher)

    def publish(self, event: Event) -> None:
        publisher = self._idle.get()
        try:
            publisher.publish(event)
        finally:
            self._idle.put(publisher)

    def close(self) -> None:
        for publisher in self._all:
            publisher.close()
