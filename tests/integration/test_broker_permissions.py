"""Each service's own broker user, with the permissions shared.broker derives from its class, on
the real RabbitMQ: the service serves RPC, retries, parks and replays under it, and may write to
no exchange but its own and nameko-rpc."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace
from urllib.parse import urlparse

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange
from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ServiceRpcProxy

from shared.broker import needs_of, permissions
from shared.consumer import apply_once
from shared.dead_letters import DeadLetterRpc
from shared.event_handler import event_handler
from shared.events import Event, make_event
from shared.providers import Store
from shared.publisher import exchange_for
from shared.runner import nameko_config
from tests.support.infra import rabbitmqctl
from tests.support.principals import staff
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

SOURCE = "perm_it_source"
FAILING: set[str] = set()  # claim ids whose handling fails until removed


class AppliedStore:
    def __init__(self, db, settings):
        self.applied = db["applied"]

    def ensure_indexes(self):
        pass

    def apply(self, event: Event) -> None:
        claim_id = event.payload["claim_id"]
        apply_once(self.applied, {"_id": claim_id}, {"$inc": {"count": 1}}, event.event_id)

    def prepare(self, claim_id: str) -> None:
        self.applied.insert_one({"_id": claim_id, "count": 0})

    def count(self, claim_id: str) -> int:
        doc = self.applied.find_one({"_id": claim_id})
        return doc["count"] if doc else 0


class PermissionProbe(DeadLetterRpc):
    name = "perm_probe"
    store = Store(AppliedStore)

    @event_handler(SOURCE, "claim_received")
    def on_received(self, event: Event) -> None:
        if event.payload["claim_id"] in FAILING:
            raise RuntimeError("injected fault")
        self.store.apply(event)


@pytest.fixture
def own_user(settings):
    """Settings whose AMQP_URI is a user of the probe's own, with its derived permissions."""
    uri = urlparse(settings.amqp_uri)
    vhost = uri.path[1:]
    user, password = f"it-perm-{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(16)
    rabbitmqctl("add_user", user, password)
    grant = permissions(needs_of(PermissionProbe))
    rabbitmqctl(
        "set_permissions", "-p", vhost, user, grant["configure"], grant["write"], grant["read"]
    )
    yield replace(
        settings, amqp_uri=f"pyamqp://{user}:{password}@{uri.hostname}:{uri.port}/{vhost}"
    )
    rabbitmqctl("delete_user", user)


@pytest.fixture
def probe(own_user):
    container = ServiceContainer(PermissionProbe, nameko_config(own_user))
    container.start()
    store = next(d for d in container.dependencies if isinstance(d, Store)).store
    admin = next(d for d in container.dependencies if d.attr_name == "dead_letters").admin
    yield store, admin
    container.stop()


def publish(publisher, claim_id: str) -> Event:
    event = make_event(
        "claim_received",
        {"claim_id": claim_id, "hospital_code": "H", "bill_no": claim_id},
        producer=SOURCE,
        correlation_id="it",
    )
    publisher.publish(event)  # as the source service would
    return event


def test_a_service_under_its_own_broker_user_serves_rpc_retries_parks_and_replays(
    probe, settings, publisher
):
    store, admin = probe
    claim_id = uuid.uuid4().hex
    store.prepare(claim_id)
    FAILING.add(claim_id)
    event = publish(publisher, claim_id)

    [letter] = wait_until(
        lambda: [d for d in admin.list() if d["event_id"] == event.event_id],
        what=f"event {event.event_id} parked",
    )
    assert letter["attempts"] == 3  # both retries went through the service's own exchange

    FAILING.discard(claim_id)
    with ServiceRpcProxy(PermissionProbe.name, nameko_config(settings)) as rpc:
        assert rpc.replay_dead_letter(staff("city_admin"), letter["id"]) is True
    wait_until(lambda: store.count(claim_id), lambda n: n == 1, what="the replay applied")


@pytest.mark.parametrize(
    "exchange",
    [exchange_for(SOURCE), Exchange("", type="direct"), Exchange("dossiers.retry", type="direct")],
    ids=["another-services-events", "default-exchange", "another-services-retry"],
)
def test_a_service_broker_user_may_not_publish_to_another_services_exchange(
    probe, own_user, exchange
):
    with Connection(own_user.amqp_uri) as connection:
        channel = connection.channel()
        with pytest.raises(AccessRefused):
            channel.basic_publish(
                channel.prepare_message(b"{}"), exchange=exchange.name, routing_key="x"
            )
            channel.exchange_declare("perm-it-sync", "direct", passive=True)  # flush the error


def test_a_service_broker_user_publishes_to_its_own_exchange(probe, own_user):
    with Connection(own_user.amqp_uri) as connection:
        channel = connection.channel()
        channel.basic_publish(
            channel.prepare_message(b"{}"), exchange="perm_probe.retry", routing_key="nowhere"
        )
        channel.exchange_declare("perm_probe.retry", "direct", passive=True)  # no error came
