"""The failure policy for event handlers, on the real broker: bounded retries with backoff,
then a dead letter that can be listed and replayed, never nameko's acknowledge-and-drop."""

from __future__ import annotations

import uuid

import pytest
from kombu import Connection
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter

from shared.auth import StaffPrincipal
from shared.consumer import apply_once
from shared.dead_letters import DeadLetterRpc
from shared.errors import ApiError
from shared.event_handler import event_handler
from shared.events import Event, make_event
from shared.providers import Store
from shared.publisher import UnroutableEvent, exchange_for
from shared.retry_routes import ATTEMPT_HEADER
from shared.runner import nameko_config
from tests.support.principals import staff
from tests.support.waiting import wait_until, wait_until_broker_idle

pytestmark = pytest.mark.integration

SOURCE = "handler_it_source"
OPERATOR = StaffPrincipal("it-operator", "city_admin", "LY")
FAULTS: dict[str, int] = {}  # claim_id -> failures still to inject


class AppliedStore:
    def __init__(self, db, settings):
        self.applied = db["applied"]

    def ensure_indexes(self):
        pass

    def apply(self, event: Event) -> None:
        apply_once(
            self.applied, {"_id": event.payload["claim_id"]}, {"$inc": {"count": 1}}, event.event_id
        )

    def count(self, claim_id: str) -> int:
        doc = self.applied.find_one({"_id": claim_id})
        return doc["count"] if doc else 0

    def prepare(self, claim_id: str) -> None:
        self.applied.insert_one({"_id": claim_id, "count": 0})


class ProbeService(DeadLetterRpc):
    name = "handler_probe"
    store = Store(AppliedStore)

    @event_handler(SOURCE, "claim_received")
    def on_received(self, event: Event) -> None:
        claim_id = event.payload["claim_id"]
        if FAULTS.get(claim_id, 0) > 0:
            FAULTS[claim_id] -= 1
            raise RuntimeError(f"injected fault for {claim_id}")
        self.store.apply(event)


def received(claim_id: str) -> Event:
    return make_event(
        "claim_received",
        {"claim_id": claim_id, "hospital_code": "H", "bill_no": claim_id},
        producer=SOURCE,
        correlation_id="it",
    )


def parked(admin, event_id) -> list[dict]:
    return [d for d in admin.list() if d["event_id"] == event_id]


def handled(event: Event, succeeded: bool = True, times: int = 1):
    """An ``entrypoint_waiter`` callback: done once a worker for ``event`` (that succeeded, or
    that failed) has returned ``times`` times."""
    seen = []

    def callback(worker_ctx, result, exc_info):
        if worker_ctx.args[0].event_id == event.event_id and (exc_info is None) == succeeded:
            seen.append(worker_ctx)
        return len(seen) == times

    return callback


def publish_raw(amqp_uri: str, body, headers: dict | None = None) -> None:
    """What anyone with the broker's address can send, headers and all."""
    with Connection(amqp_uri) as connection:
        connection.Producer(serializer="json").publish(
            body,
            exchange=exchange_for(SOURCE),
            routing_key="claim_received",
            declare=[exchange_for(SOURCE)],
            headers=headers or {},
        )


@pytest.fixture
def container(run_service):
    return run_service(ProbeService)


@pytest.fixture
def probe(container):
    store = next(d for d in container.dependencies if isinstance(d, Store)).store
    admin = next(d for d in container.dependencies if d.attr_name == "dead_letters").admin
    return store, admin


def test_handler_that_fails_twice_is_retried_and_applied_once(
    probe, container, publisher, amqp_uri
):
    store, admin = probe
    claim_id = uuid.uuid4().hex
    store.prepare(claim_id)
    FAULTS[claim_id] = 2
    event = received(claim_id)

    with entrypoint_waiter(container, "on_received", callback=handled(event)):
        publisher.publish(event)
    wait_until_broker_idle(amqp_uri)  # no further retry is on its way

    assert store.count(claim_id) == 1
    assert parked(admin, event.event_id) == []


def test_handler_that_keeps_failing_is_parked_then_replayed_once(probe, publisher):
    store, admin = probe
    claim_id = uuid.uuid4().hex
    store.prepare(claim_id)
    FAULTS[claim_id] = 10**6
    event = received(claim_id)
    publisher.publish(event)

    wait_until(lambda: parked(admin, event.event_id), what="the event parked")
    letter = next(d for d in admin.list() if d["event_id"] == event.event_id)
    assert letter["attempts"] == 3  # the first try and the two configured retries
    assert "injected fault" in letter["error"]
    assert store.count(claim_id) == 0

    FAULTS[claim_id] = 0  # the fault is fixed
    assert admin.replay(letter["id"], OPERATOR) is True
    assert admin.replay(letter["id"], OPERATOR) is False  # already replayed: nothing sent twice

    wait_until(lambda: store.count(claim_id), lambda n: n == 1, what="the event applied")
    assert [d["status"] for d in admin.list(None) if d["id"] == letter["id"]] == ["replayed"]


def test_replay_to_a_queue_no_longer_bound_is_refused_and_stays_parked(probe):
    """Replays are published ``mandatory``: a letter whose queue is gone is not silently lost."""
    _, admin = probe
    event = received(uuid.uuid4().hex)
    letter_id = admin.store.park(
        queue="handler_probe.gone", body=event.to_dict(), attempts=3, error="a handler removed"
    )

    with pytest.raises(UnroutableEvent):
        admin.replay(letter_id, OPERATOR)

    assert [d["status"] for d in admin.list(None) if d["id"] == letter_id] == ["parked"]


def test_redelivered_event_is_applied_once(probe, container, publisher):
    store, _ = probe
    claim_id = uuid.uuid4().hex
    store.prepare(claim_id)
    event = received(claim_id)

    with entrypoint_waiter(container, "on_received", callback=handled(event, times=2)):
        publisher.publish(event)
        publisher.publish(event)  # the relay re-sending after a crash

    assert store.count(claim_id) == 1


def parked_raw(admin, marker: str) -> list[dict]:
    """The parked messages that are not envelopes and whose stored body holds ``marker``."""
    return [
        d
        for d in admin.list()
        if d["event_id"] is None
        and marker in str(admin.store.collection.find_one({"_id": d["id"]}))
    ]


def test_poison_message_is_parked_without_retries(probe, amqp_uri):
    _, admin = probe
    marker = uuid.uuid4().hex
    publish_raw(amqp_uri, {"not": "an envelope", "marker": marker})
    [letter] = wait_until(lambda: parked_raw(admin, marker), what="the poison message parked")
    assert letter["attempts"] == 1


@pytest.mark.parametrize(
    "headers",
    [
        {ATTEMPT_HEADER: "abc"},
        {ATTEMPT_HEADER: -1},
        {ATTEMPT_HEADER: 10**6},
        {ATTEMPT_HEADER: 1.5},
        {ATTEMPT_HEADER: True},
        {"nameko.call_id_stack": "not-a-list"},
        {"nameko.call_id_stack": ["x" * 100] * 100},
        {"nameko.correlation_id": "x" * 5_000},
        {"nameko.correlation_id": {"nested": ["a"]}},
        {"nameko.user_id": "city_admin"},
    ],
    ids=lambda headers: f"{next(iter(headers))}={str(next(iter(headers.values())))[:12]}",
)
def test_message_with_a_malformed_retry_or_foreign_nameko_header_is_parked_as_poison(
    probe, amqp_uri, headers
):
    store, admin = probe
    claim_id = uuid.uuid4().hex
    store.prepare(claim_id)
    body = received(claim_id).to_dict()

    publish_raw(amqp_uri, body, headers)

    [letter] = wait_until(lambda: parked(admin, body["event_id"]), what="the message parked")
    assert letter["attempts"] == 1
    assert "PoisonMessage" in letter["error"]
    assert store.count(claim_id) == 0  # never handed to the handler

    # The consumer is alive and the parked message is whole: replayed with our own headers only,
    # it is applied.
    assert admin.replay(letter["id"], OPERATOR) is True
    wait_until(lambda: store.count(claim_id), lambda n: n == 1, what="the event applied")


def test_non_envelope_that_cannot_be_stored_as_is_is_still_parked(probe, publisher, amqp_uri):
    store, admin = probe
    marker = uuid.uuid4().hex
    publish_raw(amqp_uri, {"$where": "sleep(1)", "n": 10**30, "marker": marker})

    wait_until(lambda: parked_raw(admin, marker), what="the non-envelope parked")

    # The consumer goes on with the next message.
    claim_id = uuid.uuid4().hex
    store.prepare(claim_id)
    publisher.publish(received(claim_id))
    wait_until(lambda: store.count(claim_id), lambda n: n == 1, what="the event applied")


@pytest.mark.parametrize(
    ("principal", "status"),
    [
        (None, 401),
        ({"sub": "x", "role": "city_admin", "org": "LY"}, 401),
        (staff("reviewer"), 403),
        (staff("county_staff", "LY-XL"), 403),
    ],
)
def test_dead_letter_rpcs_without_a_city_admin_principal_are_refused(
    probe, settings, principal, status
):
    _, admin = probe
    parked_before = admin.list()
    with ServiceRpcProxy(ProbeService.name, nameko_config(settings)) as rpc:
        for call in (
            lambda: rpc.list_dead_letters(principal),
            lambda: rpc.replay_dead_letter(
                principal, parked_before[0]["id"] if parked_before else "x"
            ),
        ):
            with pytest.raises(ApiError) as refused:
                call()
            assert refused.value.status == status
    assert admin.list() == parked_before  # nothing replayed


def test_dead_letters_listed_and_replayed_by_a_city_admin_are_audited(probe, settings, publisher):
    store, admin = probe
    claim_id = uuid.uuid4().hex
    store.prepare(claim_id)
    FAULTS[claim_id] = 10**6
    event = received(claim_id)
    publisher.publish(event)
    wait_until(lambda: parked(admin, event.event_id), what="the event parked")
    FAULTS[claim_id] = 0
    city_admin = staff("city_admin", sub="it-replayer")

    with ServiceRpcProxy(ProbeService.name, nameko_config(settings)) as rpc:
        letter = next(
            d for d in rpc.list_dead_letters(city_admin) if d["event_id"] == event.event_id
        )
        assert rpc.replay_dead_letter(city_admin, letter["id"]) is True

    wait_until(lambda: store.count(claim_id), lambda n: n == 1, what="the event applied")
    replayed = next(d for d in admin.list(None) if d["id"] == letter["id"])
    assert (replayed["status"], replayed["replayed_by"]) == ("replayed", "it-replayer")
    trail = list(admin.store.audit_log.find({"actor": "it-replayer"}))
    assert {(e["action"], e["target"]) for e in trail} == {
        ("list_dead_letters", None),
        ("replay_dead_letter", letter["id"]),
    }
