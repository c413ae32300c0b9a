"""The event handler every consumer uses instead of nameko's acknowledge-and-drop: a failure
is retried with backoff through the service's own retry exchange, then parked as a dead letter."""

from __future__ import annotations

import logging
import traceback

import eventlet
from kombu import Queue, binding
from nameko.events import SERVICE_POOL, EventHandler

from shared.dead_letters import DeadLetterStore
from shared.events import parse_event
from shared.providers import service_database, settings_of
from shared.publisher import CORRELATION_HEADER, ConfirmedPublisher
from shared.retry_routes import ATTEMPT_HEADER, queue_arguments, retry_exchange, retry_queue

log = logging.getLogger(__name__)

MAX_CORRELATION_ID_CHARS = 200
MAX_RAW_CHARS = 10_000


class PoisonMessage(Exception):
    """A message that can never succeed (not an envelope, unknown type): parked at once."""


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
        settings = settings_of(self.container)
        self.queue_type = settings.queue_type
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
            queue_arguments=queue_arguments(self.queue_type),
        )
        self.delays = settings.event_retry_delays_ms
        self.dead_letters = DeadLetterStore(service_database(self.container))
        self.dead_letters.ensure_indexes()
        self.broker = ConfirmedPublisher(settings.amqp_uri)

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
                    self.retry_exchange,
                    self.queue.name,
                    attempts,
                    self.delays[attempts - 1],
                    self.queue_type,
                )
                self.broker.send_to_queue(
                    body, queue, {**message.headers, ATTEMPT_HEADER: attempts}
                )
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
