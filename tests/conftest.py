"""Suite-wide fixtures. eventlet is patched first: nameko and pymongo share its sockets."""

import eventlet

eventlet.monkey_patch()  # noqa: E402 - before anything imports socket, threading or ssl

import pytest  # noqa: E402

from tests.support.infra import NxServer, RabbitVhost  # noqa: E402


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory):
    """An nx-27017 the suite starts on a free port with a temporary data directory."""
    server = NxServer(tmp_path_factory.mktemp("nx"))
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def amqp_uri():
    """A RabbitMQ virtual host of this run's own, deleted afterwards."""
    vhost = RabbitVhost()
    yield vhost.create()
    vhost.delete()
