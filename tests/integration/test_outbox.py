"""The outbox and its relay against real RabbitMQ and nx-27017: nothing acknowledged is lost."""

from __future__ import annotations

import pytest
from kombu import Connection, Exchange, Queue

from shared.events import make_event
from shared.outbox import PENDING, OutboxRelay, insert_with_events, update_with_events
from shared.publisher import UnroutableEvent, exchange_for

pytestmark = pytest.mark.integration

PRODUCER = "outbox_it"


def received(claim_id: str):
    return make_event(
        "claim_received",
        {"claim_id": claim_id, "hospital_code": "H1", "bill_no": claim_id},
        producer=PRODUCER,
        correlation_id=f"corr-{claim_id}",
    )


@pytest.fixture
def bound_queue(amqp_uri):
    with Connection(amqp_uri) as connection:
        queue = Queue(
            "outbox-it", exchange=exchange_for(PRODUCER), routing_key="claim_received", durable=True
        )
        queue(connection.channel()).declare()
        queue(connection.channel()).purge()
        yield connection, queue
        queue(connection.channel()).delete()


def drain(connection, queue) -> list[dict]:
    bodies = []
    channel = connection.channel()
    while (message := queue(channel).get(no_ack=True)) is not None:
        bodies.append(message.payload)
    return bodies


class FlakyPublisher:
    """Stands in for a broker connection that dies after ``ok`` confirmed publishes."""

    def __init__(self, real, ok: int):
        self.real, self.ok = real, ok

    def publish(self, event):
        if self.ok == 0:
            raise ConnectionError("broker connection lost")
        self.ok -= 1
        self.real.publish(event)


def test_relay_publishes_pending_events_and_marks_them_sent(db, publisher, bound_queue):
    db.claims.insert_one(insert_with_events({"_id": "c1", "status": "received"}, [received("c1")]))
    relay = OutboxRelay([db.claims], publisher)

    assert relay.relay_once() == 1

    bodies = drain(*bound_queue)
    assert [b["payload"]["claim_id"] for b in bodies] == ["c1"]
    assert bodies[0]["correlation_id"] == "corr-c1"
    doc = db.claims.find_one({"_id": "c1"})
    assert doc["outbox"] == {} and PENDING not in doc
    assert relay.relay_once() == 0


def test_events_ride_in_the_same_update_as_the_state_change(db):
    db.claims.insert_one(insert_with_events({"_id": "c2", "status": "received"}, []))
    event = received("c2")
    db.claims.update_one(
        {"_id": "c2"}, update_with_events({"$set": {"status": "approved"}}, [event])
    )
    doc = db.claims.find_one({"_id": "c2"})
    assert doc["status"] == "approved"
    assert doc["outbox"][event.event_id]["payload"]["claim_id"] == "c2"
    assert doc[
        PENDING
    ]  # nx-27017 stores a $set true as 1; both are truthy and match {PENDING: True}


def test_after_a_crash_mid_relay_the_unpublished_rest_is_sent_next_pass(db, publisher, bound_queue):
    events = [received(f"c3-{i}") for i in range(3)]
    db.claims.insert_one(insert_with_events({"_id": "c3"}, events))
    assert OutboxRelay([db.claims], FlakyPublisher(publisher, ok=1)).relay_once() == 1
    assert len(db.claims.find_one({"_id": "c3"})["outbox"]) == 2

    assert OutboxRelay([db.claims], publisher).relay_once() == 2
    ids = sorted(b["event_id"] for b in drain(*bound_queue))
    assert ids == sorted(e.event_id for e in events)
    assert PENDING not in db.claims.find_one({"_id": "c3"})


def test_unroutable_event_stays_pending_until_a_queue_is_bound(db, publisher):
    event = make_event(
        "claim_received",
        {"claim_id": "c4", "hospital_code": "H1", "bill_no": "b"},
        producer="nobody_listens",
        correlation_id="x",
    )
    with pytest.raises(UnroutableEvent):
        publisher.publish(event)
    db.claims.insert_one(insert_with_events({"_id": "c4"}, [event]))

    assert OutboxRelay([db.claims], publisher).relay_once() == 0
    assert db.claims.find_one({"_id": "c4"})[PENDING]


def test_message_to_a_queue_deleted_meanwhile_is_refused_then_delivered_next_time(
    amqp_uri, publisher
):
    """A retry's holding queue deleted while the service runs: the send it returns is refused
    (the caller keeps the message), and the next send declares the queue again."""
    exchange = Exchange("outbox_it.retry", type="direct", durable=True)
    holding = Queue("outbox-it.backoff1", exchange=exchange, routing_key="outbox-it.backoff1")
    with Connection(amqp_uri) as connection:
        publisher.send_to_queue({"n": 1}, holding, {})
        holding(connection.channel()).delete()

        with pytest.raises(UnroutableEvent):
            publisher.send_to_queue({"n": 2}, holding, {})
        publisher.send_to_queue({"n": 3}, holding, {})

        assert drain(connection, holding) == [{"n": 3}]
        holding(connection.channel()).delete()
