"""Nameko extensions at the service's door: settings, stores, the outbox relay, correlation
ids, and event handlers that retry with backoff and park failures in a dead-letter store
instead of nameko's default of acknowledging and dropping them."""

from __future__ import annotations

import inspect
import logging
import threading
import traceback
import types
import typing
import uuid
from collections.abc import Callable
from typing import Any

import eventlet
from eventlet.semaphore import Semaphore
from kombu import Connection, Exchange, Queue, binding
from nameko.events import SERVICE_POOL, EventHandler
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from pymongo import DESCENDING
from pymongo.database import Database
from pymongo.errors import PyMongoError

from shared.auth import StaffPrincipal, authorized
from shared.config import Settings
from shared.errors import ApiError, validation_error
from shared.events import now_shanghai, parse_event
from shared.logs import set_correlation_id
from shared.mongo import get_database
from shared.outbox import CORRELATION_HEADER, ConfirmedPublisher, OutboxRelay

log = logging.getLogger(__name__)

SETTINGS_KEY = "UNIONHUB_SETTINGS"

ATTEMPT_HEADER = "x-unionhub-attempt"
MAX_CORRELATION_ID_CHARS = 200
MAX_RAW_CHARS = 10_000
DEAD_LETTER_ROLES = ("city_admin",)
CREDENTIALS = ("principal", "partner")  # RPC parameters that carry who is calling
DEAD_LETTER_STATUSES = ("parked", "replaying", "replayed", None)  # None: every status


def _conforms(value: object, hint: object) -> bool:
    if hint is Any:
        return True
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_conforms(value, option) for option in typing.get_args(hint))
    kind = typing.get_origin(hint) or hint
    if kind is type(None):
        return value is None
    # JSON has no separate booleans and integers in Python: True must not pass for a period.
    return isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))


class TypedRpc(Rpc):
    """An RPC entrypoint that refuses, before any work, an argument of another type than the
    method declares: whoever reaches the broker cannot slip a Mongo operator
    (``{"$ne": null}``) where an id, a period or a filter value is expected. Request bodies
    (``dict``) are checked by the method's own schema; the caller's credential (``principal``,
    ``partner``) by shared.auth (a 401, not a 400)."""

    def setup(self):
        super().setup()
        method = getattr(self.container.service_cls, self.method_name)
        self.signature = inspect.signature(method)
        self.hints = typing.get_type_hints(method)

    def check_signature(self, args, kwargs):
        super().check_signature(args, kwargs)
        arguments = self.signature.bind(None, *args, **kwargs).arguments
        wrong = {
            name: [f"must be {self.hints[name]}"]
            for name, value in arguments.items()
            if name in self.hints
            and name not in CREDENTIALS
            and not _conforms(value, self.hints[name])
        }
        if wrong:
            raise validation_error(wrong, "An RPC argument has the wrong type.")


# The RPC entrypoint every service uses: an ApiError is the answer to a bad request, so nameko
# treats it as expected (and our log filter keeps it out of the error log).
rpc = TypedRpc.decorator(expected_exceptions=(ApiError,))


def settings_of(container) -> Settings:
    return container.config[SETTINGS_KEY]


def service_database(container) -> Database:
    settings = settings_of(container)
    return get_database(settings.mongo_uri, settings.database_name(container.service_name))


class Store(DependencyProvider):
    """Injects the service's store, built once on the service's own database."""

    def __init__(self, factory: Callable[[Database, Settings], Any]):
        self.factory = factory

    def setup(self):
        self.store = self.factory(service_database(self.container), settings_of(self.container))
        self.store.ensure_indexes()

    def get_dependency(self, worker_ctx):
        return self.store


class Correlation(DependencyProvider):
    """Gives every worker a correlation id (inherited from the caller or new) for logs,
    RPC and events; nameko carries ``worker_ctx.data`` along RPC calls by itself."""

    def worker_setup(self, worker_ctx):
        correlation_id = worker_ctx.data.get("correlation_id") or str(uuid.uuid4())
        worker_ctx.data["correlation_id"] = correlation_id
        set_correlation_id(correlation_id)

    def worker_teardown(self, worker_ctx):
        set_correlation_id(None)

    def get_dependency(self, worker_ctx):
        # nameko injects before worker_setup: a timer or a bare standalone RPC carries no id yet.
        return worker_ctx.data.setdefault("correlation_id", str(uuid.uuid4()))


class OutboxRelayRunner(DependencyProvider):
    """Runs the outbox relay for the named collections in a background green thread. The
    injected callable wakes it (call it after a write that carried events) so events leave
    promptly; a poll catches anything left over (a crash, a broker outage, an unroutable event)."""

    def __init__(self, *collection_names: str):
        self.collection_names = collection_names

    def setup(self):
        settings = settings_of(self.container)
        db = service_database(self.container)
        self.poll_seconds = settings.outbox_poll_seconds
        self.publisher = ConfirmedPublisher(settings.amqp_uri)
        self.relay = OutboxRelay([db[name] for name in self.collection_names], self.publisher)
        self.relay.ensure_indexes()
        self.wake = threading.Event()
        self.running = False

    def start(self):
        self.running = True
        self.thread = self.container.spawn_managed_thread(self._run, identifier="outbox_relay")

    def stop(self):
        self.running = False
        self.wake.set()
        self.thread.kill()
        self.publisher.close()

    def _run(self):
        while self.running:
            self.wake.clear()
            try:
                published = self.relay.relay_once()
            except PyMongoError:
                log.exception("outbox relay pass failed; retrying")
                published = 0
            if not published:
                self.wake.wait(self.poll_seconds)

    def get_dependency(self, worker_ctx):
        return self.wake.set


class DeadLetterStore:
    """Failed messages, parked with their error so staff can list and replay them; who listed
    and who replayed is kept in an insert-only audit collection beside them."""

    def __init__(self, db: Database):
        self.collection = db["dead_letters"]
        self.audit_log = db["dead_letter_audit"]

    def ensure_indexes(self) -> None:
        self.collection.create_index(
            [("status", 1), ("parked_at", DESCENDING)], name="status_parked_at_idx"
        )

    def park(self, *, queue: str, body: dict, attempts: int, error: str) -> str:
        dead_letter_id = str(uuid.uuid4())
        self.collection.insert_one(
            {
                "_id": dead_letter_id,
                "queue": queue,
                "event_id": body.get("event_id"),
                "event_type": body.get("event_type"),
                "body": body,
                "attempts": attempts,
                "error": error,
                "status": "parked",
                "parked_at": now_shanghai().isoformat(timespec="milliseconds"),
            }
        )
        return dead_letter_id

    def list(self, status: str | None = "parked", limit: int = 100) -> list[dict]:
        query = {} if status is None else {"status": status}
        return list(self.collection.find(query).sort("parked_at", DESCENDING).limit(limit))

    def claim_for_replay(self, dead_letter_id: str) -> dict | None:
        return self.collection.find_one_and_update(
            {"_id": dead_letter_id, "status": "parked"}, {"$set": {"status": "replaying"}}
        )

    def finish_replay(self, dead_letter_id: str, replayed_by: str | None) -> None:
        """Replayed by that staff member, or (None) back to parked: the send failed."""
        update = (
            {"status": "parked"}
            if replayed_by is None
            else {
                "status": "replayed",
                "replayed_at": now_shanghai().isoformat(),
                "replayed_by": replayed_by,
            }
        )
        self.collection.update_one({"_id": dead_letter_id}, {"$set": update})

    def audit(self, staff: StaffPrincipal, action: str, target: str | None, detail: dict) -> None:
        """Insert only: no code path updates or deletes an audit entry."""
        self.audit_log.insert_one(
            {
                "_id": uuid.uuid4().hex,
                "at": now_shanghai().isoformat(timespec="milliseconds"),
                "actor": staff.sub,
                "role": staff.role,
                "actor_org": staff.org,
                "action": action,
                "target": target,
                "detail": detail,
            }
        )


class BrokerPublisher:
    """Confirmed publishes to a queue through its exchange (retries and replays); one at a time."""

    def __init__(self, amqp_uri: str):
        self.connection = Connection(amqp_uri, transport_options={"confirm_publish": True})
        self.lock = Semaphore()
        self.producer = None

    def send(self, body: dict, queue: Queue, headers: dict) -> None:
        with self.lock:
            try:
                if self.producer is None:
                    self.connection.ensure_connection(max_retries=3)
                    self.producer = self.connection.Producer(serializer="json")
                self.producer.publish(
                    body,
                    exchange=queue.exchange,
                    routing_key=queue.routing_key,
                    delivery_mode=2,
                    headers=headers,
                    declare=[queue],
                    retry=True,
                )
            except Exception:
                self.producer = None
                self.connection.release()
                raise

    def close(self) -> None:
        self.connection.release()


class PoisonMessage(Exception):
    """A message that can never succeed (not an envelope, unknown type): parked at once."""


def retry_exchange(service: str) -> Exchange:
    """The service's own direct exchange for retries and replays. Not the broker's default
    exchange: write access to that one would let a service put a message on any queue, where
    its broker user may write to its own exchanges only (docker/, k8s/)."""
    return Exchange(f"{service}.retry", type="direct", durable=True)


def retry_queue(exchange: Exchange, queue_name: str, attempt: int, delay_ms: int) -> Queue:
    """A holding queue whose messages expire back into ``queue_name`` after ``delay_ms``."""
    name = f"{queue_name}.backoff{attempt}"
    return Queue(
        name,
        exchange=exchange,
        routing_key=name,
        durable=True,
        queue_arguments={
            "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": exchange.name,
            "x-dead-letter-routing-key": queue_name,
        },
    )


def replay_queue(exchange: Exchange, queue_name: str) -> Queue:
    """A handler's own queue, reached through the retry exchange (its handler binds it there)."""
    return Queue(
        queue_name, exchange=exchange, routing_key=queue_name, durable=True, no_declare=True
    )


class ReliableEventHandler(EventHandler):
    """``@event_handler`` that hands the method a parsed :class:`Event` and never drops a
    message: a failure is retried after each delay of ``EVENT_RETRY_DELAYS_MS`` (one holding
    queue per attempt, so a long delay never blocks a short one), then parked as a dead letter.
    The handler itself must be idempotent on ``event.event_id`` (deliveries are at-least-once)."""

    def __init__(self, source_service: str, event_type: str, **kwargs):
        super().__init__(
            source_service,
            event_type,
            handler_type=SERVICE_POOL,
            reliable_delivery=True,
            requeue_on_error=False,
            **kwargs,
        )

    def setup(self):
        super().setup()
        # Expired retries and replays come back through the service's retry exchange, so the
        # queue is bound there too (kombu keeps either one exchange or a list of bindings).
        self.retry_exchange = retry_exchange(self.container.service_name)
        queue = self.queue
        self.queue = Queue(
            queue.name,
            bindings=[
                binding(queue.exchange, routing_key=queue.routing_key),
                binding(self.retry_exchange, routing_key=queue.name),
            ],
            durable=queue.durable,
            auto_delete=queue.auto_delete,
            exclusive=queue.exclusive,
        )
        settings = settings_of(self.container)
        self.delays = settings.event_retry_delays_ms
        self.dead_letters = DeadLetterStore(service_database(self.container))
        self.dead_letters.ensure_indexes()
        self.broker = BrokerPublisher(settings.amqp_uri)

    def stop(self):
        super().stop()
        self.broker.close()

    def handle_message(self, body, message):
        try:
            event = parse_event(body)
        except Exception as exc:  # noqa: BLE001 - whatever is wrong with it, park it, never drop it
            # Kept as text: a body that is not an envelope may not even be storable as is.
            raw = {"raw": repr(body)[:MAX_RAW_CHARS]}
            self._settle(message, raw, PoisonMessage(repr(exc)[:MAX_RAW_CHARS]), attempts=1)
            return
        try:
            failed_before = self._attempts_before(message.headers)
        except PoisonMessage as exc:
            self._settle(message, body, exc, attempts=1)
            return
        # Only the envelope's correlation id reaches the worker: no header of the message
        # becomes context that nameko would act on or forward.
        self.container.spawn_worker(
            self,
            (event,),
            {},
            context_data={"correlation_id": event.correlation_id},
            handle_result=lambda worker_ctx, result=None, exc_info=None: self._on_result(
                message, body, failed_before + 1, result, exc_info
            ),
        )

    def _attempts_before(self, headers: dict) -> int:
        """How often this message failed already, from the header our own retries write. A
        header we did not write (a count of another type or out of range, a ``nameko.*``
        context we do not send) makes the message poison: parked, never retried or looped."""
        attempts = headers.get(ATTEMPT_HEADER, 0)
        if type(attempts) is not int or not 0 <= attempts <= len(self.delays):
            raise PoisonMessage(f"header {ATTEMPT_HEADER} is not a retry count: {attempts!r:.80}")
        for name, value in headers.items():
            if not name.startswith("nameko."):
                continue  # the broker's own (x-death) and other transports' headers are inert
            if name != CORRELATION_HEADER:
                raise PoisonMessage(f"foreign header {name!r:.80}")
            if not isinstance(value, str) or len(value) > MAX_CORRELATION_ID_CHARS:
                raise PoisonMessage(f"header {CORRELATION_HEADER} is not a correlation id")
        return attempts

    def _on_result(self, message, body, attempts, result, exc_info):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
        else:
            self._settle(message, body, exc_info[1], attempts, exc_info)
        return result, exc_info

    def _settle(self, message, body, error: BaseException, attempts: int, exc_info=None):
        detail = "".join(traceback.format_exception(*exc_info)[-3:]) if exc_info else repr(error)
        try:
            if not isinstance(error, PoisonMessage) and attempts <= len(self.delays):
                queue = retry_queue(
                    self.retry_exchange, self.queue.name, attempts, self.delays[attempts - 1]
                )
                self.broker.send(body, queue, {**message.headers, ATTEMPT_HEADER: attempts})
                log.warning(
                    "event handler failed; retry scheduled",
                    extra={"queue": self.queue.name, "attempt": attempts, "error": repr(error)},
                )
            else:
                dead_letter_id = self.dead_letters.park(
                    queue=self.queue.name,
                    body=body,
                    attempts=attempts,
                    error=detail,
                )
                log.error(
                    "event handler gave up; message parked as dead letter",
                    extra={
                        "queue": self.queue.name,
                        "dead_letter_id": dead_letter_id,
                        "error": repr(error),
                    },
                )
        except Exception:  # noqa: BLE001 - could not park it: give it back to the broker
            log.exception("could not retry or park a failed message; requeueing it")
            eventlet.sleep(1)
            self.queue_consumer.requeue_message(message)
        else:
            self.queue_consumer.ack_message(message)


event_handler = ReliableEventHandler.decorator


class DeadLetterAdmin:
    """What staff do with parked messages: list them, and replay one after the fault is fixed."""

    def __init__(self, store: DeadLetterStore, broker: BrokerPublisher, exchange: Exchange):
        self.store = store
        self.broker = broker
        self.exchange = exchange

    def list(self, status: str | None = "parked", limit: int = 100) -> list[dict]:
        return [
            {
                "id": letter["_id"],
                "queue": letter["queue"],
                "event_id": letter.get("event_id"),
                "event_type": letter.get("event_type"),
                "attempts": letter["attempts"],
                "error": letter["error"],
                "status": letter["status"],
                "parked_at": letter["parked_at"],
                "replayed_by": letter.get("replayed_by"),
            }
            for letter in self.store.list(status, limit)
        ]

    def replay(self, dead_letter_id: str, staff: StaffPrincipal) -> bool:
        """Send a parked message back to its queue with a fresh retry budget."""
        letter = self.store.claim_for_replay(dead_letter_id)
        if letter is None:
            return False
        try:
            queue = replay_queue(self.exchange, letter["queue"])
            self.broker.send(letter["body"], queue, {ATTEMPT_HEADER: 0})
        except Exception:
            self.store.finish_replay(dead_letter_id, None)
            raise
        self.store.finish_replay(dead_letter_id, staff.sub)
        self.store.audit(staff, "replay_dead_letter", dead_letter_id, {"queue": letter["queue"]})
        return True


class DeadLetters(DependencyProvider):
    def setup(self):
        store = DeadLetterStore(service_database(self.container))
        store.ensure_indexes()
        self.broker = BrokerPublisher(settings_of(self.container).amqp_uri)
        self.admin = DeadLetterAdmin(
            store, self.broker, retry_exchange(self.container.service_name)
        )

    def stop(self):
        self.broker.close()

    def get_dependency(self, worker_ctx):
        return self.admin


class DeadLetterRpc:
    """Mixin giving a service the RPC entrypoints staff use for its dead letters: city admins
    only, since a replay re-runs a business effect; both are audited."""

    dead_letters = DeadLetters()

    @rpc
    def list_dead_letters(self, principal: str, status: str | None = "parked") -> list[dict]:
        staff = authorized(principal, DEAD_LETTER_ROLES)
        if status not in DEAD_LETTER_STATUSES:
            raise validation_error({"status": ["must be parked, replaying, replayed or all"]})
        letters = self.dead_letters.list(status)
        self.dead_letters.store.audit(
            staff, "list_dead_letters", None, {"status": status, "count": len(letters)}
        )
        return letters

    @rpc
    def replay_dead_letter(self, principal: str, dead_letter_id: str) -> bool:
        staff = authorized(principal, DEAD_LETTER_ROLES)
        return self.dead_letters.replay(dead_letter_id, staff)
