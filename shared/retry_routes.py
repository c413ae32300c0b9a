"""Where retried and replayed messages travel: the service's own retry exchange, one holding
queue per attempt, and the header that counts attempts."""

from __future__ import annotations

from kombu import Exchange, Queue

ATTEMPT_HEADER = "x-unionhub-attempt"


def queue_arguments(queue_type: str) -> dict[str, str]:
    """What a durable queue is declared with for the settings' ``QUEUE_TYPE``: a quorum queue
    is replicated across a broker cluster; a classic one (no argument) lives on one node."""
    return {"x-queue-type": "quorum"} if queue_type == "quorum" else {}


def retry_exchange(service: str) -> Exchange:
    """The service's own direct exchange for retries and replays. Not the broker's default
    exchange: write access to that one would let a service put a message on any queue, where
    its broker user may write to its own exchanges only (docker/, k8s/)."""
    return Exchange(f"{service}.retry", type="direct", durable=True)


def retry_queue(
    exchange: Exchange, queue_name: str, attempt: int, delay_ms: int, queue_type: str = "classic"
) -> Queue:
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
            **queue_arguments(queue_type),
        },
    )


def replay_queue(exchange: Exchange, queue_name: str) -> Queue:
    """A handler's own queue, reached through the retry exchange (its handler binds it there)."""
    return Queue(
        queue_name, exchange=exchange, routing_key=queue_name, durable=True, no_declare=True
    )
