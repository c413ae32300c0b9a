"""The outbox relay is woken by the worker that wrote events, as that worker finishes."""

import eventlet
from nameko.containers import ServiceContainer
from nameko.extensions import Entrypoint
from nameko.testing.utils import get_extension

from shared.events import make_event
from shared.outbox import update_with_events
from shared.providers import OutboxRelayRunner

EVENT_PAYLOAD = {"claim_id": "c1", "hospital_code": "H1", "bill_no": "b1"}


class Call(Entrypoint):
    """A bare entrypoint: the worker lifecycle of nameko without a broker behind it."""


call = Call.decorator


class Writer:
    name = "writer"
    relay = OutboxRelayRunner("things")

    @call
    def write_with_events(self, pause):
        event = make_event("claim_received", EVENT_PAYLOAD, producer="writer", correlation_id="c")
        update_with_events({"$set": {"status": "received"}}, [event])
        eventlet.sleep(pause)

    @call
    def write_without_events(self, pause):
        update_with_events({"$set": {"status": "seen"}}, [])
        eventlet.sleep(pause)


def run(container, method, pause=0):
    """Spawn a worker as nameko does and return its green thread (set up, run, torn down)."""
    worker_ctx = container.spawn_worker(
        get_extension(container, Call, method_name=method), (pause,), {}
    )
    return container._worker_threads[worker_ctx]  # noqa: SLF001 - nameko's handle on the worker


def test_relay_woken_when_a_worker_that_wrote_events_finishes():
    container = ServiceContainer(Writer, config={})
    relay = get_extension(container, OutboxRelayRunner)

    worker = run(container, "write_with_events", pause=0.05)
    eventlet.sleep(0.01)
    assert not relay.wake.is_set()  # written, but the worker is still running

    worker.wait()
    assert relay.wake.is_set()


def test_relay_not_woken_by_a_worker_that_wrote_no_events():
    container = ServiceContainer(Writer, config={})
    relay = get_extension(container, OutboxRelayRunner)

    # A worker that wrote events runs at the same time: its events are not the other's.
    writing = run(container, "write_with_events", pause=0.05)
    run(container, "write_without_events").wait()
    assert not relay.wake.is_set()

    writing.wait()
    assert relay.wake.is_set()
