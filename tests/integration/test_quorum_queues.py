"""``QUEUE_TYPE=quorum`` (docker/, k8s/): every durable queue a service declares is a quorum
queue, on a vhost of its own on the real broker, and events, retries and RPC still flow."""

from __future__ import annotations

import uuid

import pytest
from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter

from shared.config import ConfigError, load_settings
from shared.publisher import ConfirmedPublisher
from shared.runner import nameko_config
from tests.integration.test_event_handler import FAULTS, ProbeService, handled, received
from tests.support.infra import RabbitVhost, rabbitmqctl
from tests.support.principals import staff
from tests.support.waiting import wait_until_broker_idle

pytestmark = pytest.mark.integration


@pytest.fixture
def quorum_settings(mongo_uri):
    vhost = RabbitVhost()
    amqp_uri = vhost.create()
    yield (
        load_settings(
            {
                "APP_ENV": "test",
                "MONGO_URI": mongo_uri,
                "AMQP_URI": amqp_uri,
                "EVENT_RETRY_DELAYS_MS": "100",
                "QUEUE_TYPE": "quorum",
            }
        ),
        vhost.name,
    )
    vhost.delete()


def queue_types(vhost: str) -> dict[str, str]:
    listed = rabbitmqctl("list_queues", "-p", vhost, "--no-table-headers", "name", "type")
    return dict(line.split("\t") for line in listed.splitlines() if line.strip())


def test_with_quorum_queues_events_retries_and_rpc_flow_and_every_durable_queue_is_quorum(
    quorum_settings,
):
    settings, vhost = quorum_settings
    container = ServiceContainer(ProbeService, nameko_config(settings))
    container.start()
    publisher = ConfirmedPublisher(settings.amqp_uri)
    try:
        store = next(d for d in container.dependencies if d.attr_name == "store").store
        claim_id = uuid.uuid4().hex
        store.prepare(claim_id)
        FAULTS[claim_id] = 1  # one failure: the retry travels through a holding queue
        event = received(claim_id)
        with entrypoint_waiter(container, "on_received", callback=handled(event)):
            publisher.publish(event)
        wait_until_broker_idle(settings.amqp_uri)
        assert store.count(claim_id) == 1

        with ServiceRpcProxy("handler_probe", nameko_config(settings)) as probe:
            operator = staff("city_admin", "LY", "it-operator")
            assert isinstance(probe.list_dead_letters(operator), list)

        types = queue_types(vhost)
        durable = {name: kind for name, kind in types.items() if not name.startswith("rpc.reply")}
        assert "rpc-handler_probe" in durable
        assert any(".backoff1" in name for name in durable), types
        assert set(durable.values()) == {"quorum"}, durable
    finally:
        publisher.close()
        container.stop()


def test_an_unknown_queue_type_is_a_config_error_naming_the_variable():
    with pytest.raises(ConfigError, match="QUEUE_TYPE"):
        load_settings({"APP_ENV": "test", "QUEUE_TYPE": "mirrored"})
