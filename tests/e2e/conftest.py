"""End-to-end fixtures: the platform started as `make run` starts it, on this run's servers."""

import os
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from scripts.devstack import Stack, free_port
from tests.support.client import Gateway
from tests.support.infra import NxServer, RabbitVhost

JWT_SECRET = "e2e-staff-jwt-secret-at-least-32-bytes!"


def stack_env(mongo_uri: str, amqp_uri: str) -> dict[str, str]:
    """The settings an end-to-end stack runs with (each call a fresh gateway port)."""
    return {
        "APP_ENV": "test",
        "GATEWAY_PORT": str(free_port()),
        "MONGO_URI": mongo_uri,
        "AMQP_URI": amqp_uri,
        "STAFF_JWT_SECRET": JWT_SECRET,
        "EVENT_RETRY_DELAYS_MS": "200,400",
        "OUTBOX_POLL_SECONDS": "0.5",
        "RPC_TIMEOUT_SECONDS": "5",
        # Every test speaks from 127.0.0.1, and many check 401s: the strict default would
        # throttle the suite. test_gateway_abuse runs its own gateway on the defaults.
        "RATE_LIMIT_FAILURES": "100000/minute",
    }


@contextmanager
def running_stack(var_dir: Path, env: dict[str, str]):
    stack = Stack(var_dir, env)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def stack_amqp_uri():
    """A vhost of the stack's own: its services verify tokens signed with the end-to-end
    secret, and the integration tier starts services of the same names on the suite's vhost,
    which must never answer each other's RPC calls."""
    vhost = RabbitVhost()
    yield vhost.create()
    vhost.delete()


@pytest.fixture(scope="session")
def stack_mongo_uri(tmp_path_factory):
    """An nx-27017 of the stack's own. The integration tier starts services of the same names
    on the suite's store; sharing it, the stack's outbox relays (still running, the stack is
    session-wide) claimed the integration services' outbox rows and published their events on
    the stack's vhost, where the integration tests never saw them."""
    if os.environ.get("TEST_MONGO_URI"):
        pytest.skip("the stack needs a store of its own; TEST_MONGO_URI names a shared one")
    server = NxServer(tmp_path_factory.mktemp("stack-nx"))
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory, stack_mongo_uri, stack_amqp_uri):
    env = stack_env(stack_mongo_uri, stack_amqp_uri)
    var_dir = tmp_path_factory.mktemp("stack")
    # The notifications service's test clock (services/notifications/channels.py): empty or
    # missing, the wall clock; tests/e2e/test_notification_delivery.py writes a time in it.
    env["NOTIFICATIONS_CLOCK_FILE"] = str(var_dir / "notifications.clock")
    with running_stack(var_dir, env) as stack:
        yield stack


@pytest.fixture(scope="session")
def gateway(stack):
    with closing(Gateway(stack.gateway_url, JWT_SECRET)) as gateway:
        yield gateway


@pytest.fixture(scope="session")
def hospital(gateway):
    """A registered level-3 partner hospital and its webhook secret."""
    response = gateway.staff(
        "POST",
        "/api/v1/partners",
        {"code": "H0001", "kind": "hospital", "name": "龙岩市第一医院", "level": 3},
    )
    assert response.status_code == 201, response.text
    return response.json()
