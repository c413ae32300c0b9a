"""Integration fixtures: real RabbitMQ (this run's vhost) and nx-27017 through pymongo."""

import uuid

import pytest
from nameko.containers import ServiceContainer

from shared.config import load_settings
from shared.mongo import get_database
from shared.publisher import ConfirmedPublisher
from shared.runner import nameko_config


@pytest.fixture
def settings(mongo_uri, amqp_uri):
    return load_settings(
        {
            "APP_ENV": "test",
            "MONGO_URI": mongo_uri,
            "AMQP_URI": amqp_uri,
            "EVENT_RETRY_DELAYS_MS": "100,200",
            "OUTBOX_POLL_SECONDS": "0.2",
        }
    )


@pytest.fixture
def db(settings):
    """A database of this test's own on the suite's nx-27017."""
    return get_database(settings.mongo_uri, f"it_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def run_service(settings):
    """Start nameko service classes in-process against the real broker; stop them afterwards."""
    containers = []

    def start(cls):
        container = ServiceContainer(cls, nameko_config(settings))
        container.start()
        containers.append(container)
        return container

    yield start
    for container in reversed(containers):
        container.stop()


@pytest.fixture
def publisher(amqp_uri):
    """Publishes events as the outbox relay does (confirmed, mandatory); closed afterwards."""
    publisher = ConfirmedPublisher(amqp_uri)
    yield publisher
    publisher.close()
