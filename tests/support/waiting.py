"""The one way tests wait: for a thing to be seen, never for an amount of time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from kombu import Connection

from tests.support.infra import rabbitmqctl

T = TypeVar("T")


def wait_until(
    fetch: Callable[[], T],
    predicate: Callable[[T], object] = bool,
    timeout: float = 15.0,
    *,
    what: str,
    interval: float = 0.05,
) -> T:
    """Call ``fetch()`` until ``predicate`` holds for what it returns, and return that value.
    Past ``timeout`` seconds the test fails, naming ``what`` it waited for and the last value
    seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if predicate(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; last seen: {value!r:.2000}")
        time.sleep(interval)


def busy_queues(amqp_uri: str, node: str | None = None) -> dict[str, tuple[int, int]]:
    """The queues of ``amqp_uri``'s virtual host with work left, as (ready, being handled):
    a message a consumer holds, one waiting for a consumer, or one waiting out a retry delay.
    Ready messages in a queue nobody consumes (its service stopped) will change nothing."""
    with Connection(amqp_uri) as connection:  # parsed only, never connected
        vhost = connection.virtual_host
    rows = rabbitmqctl(
        "list_queues",
        "-p",
        vhost,
        "--no-table-headers",
        "name",
        "messages_ready",
        "messages_unacknowledged",
        "consumers",
        "arguments",
        node=node,
    )
    busy = {}
    for row in rows.splitlines():
        name, ready, handled, consumers, arguments = row.split("\t")
        # A retry's holding queue has no consumer: its messages expire back into a consumed one.
        holding = '"x-message-ttl"' in arguments
        waiting = int(ready) if int(consumers) or holding else 0
        if waiting or int(handled):
            busy[name] = (int(ready), int(handled))
    return busy


def wait_until_broker_idle(amqp_uri: str, timeout: float = 15.0, node: str | None = None) -> None:
    """Wait until no message is left to handle on the broker: after what a test waited for
    has happened, nothing else is on its way either."""
    wait_until(
        lambda: busy_queues(amqp_uri, node),
        lambda busy: not busy,
        timeout,
        what="every consumed queue and retry queue empty",
        interval=0.2,
    )
