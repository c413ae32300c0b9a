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


class CountedRelay:
    """A relay whose every pass publishes one event, taking a full batch or not."""

    def __init__(self, full: bool):
        self.passes = 0
        self.more_pending = full

    def relay_once(self) -> int:
        eventlet.sleep(0.001)  # a pass waits on the store and the broker
        self.passes += 1
        return 1


def passes_in(seconds: float, full: bool, woken_every: float | None = None) -> int:
    runner = OutboxRelayRunner("things")
    runner.relay = CountedRelay(full)
    runner.poll_seconds = 0.2
    runner.running = True
    loop = eventlet.spawn(runner._run)  # noqa: SLF001 - the relay's loop itself
    deadline = eventlet.hubs.get_hub().clock() + seconds
    while eventlet.hubs.get_hub().clock() < deadline:
        eventlet.sleep(woken_every or 0.01)
        if woken_every:
            runner.wake.set()
    runner.running = False
    runner.wake.set()
    loop.wait()
    return runner.relay.passes


def test_a_pass_that_took_less_than_a_batch_waits_for_a_wake_or_the_poll():
    # Not woken: one pass per poll (was: a second, empty pass after every busy one).
    assert passes_in(0.5, full=False) <= 4
    # Woken by workers: a pass per wake.
    assert 5 <= passes_in(0.5, full=False, woken_every=0.05) <= 12


def test_a_pass_that_took_a_full_batch_goes_straight_on():
    assert passes_in(0.1, full=True) > 10
