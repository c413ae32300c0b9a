"""Suite-wide fixtures. eventlet is patched first: nameko and pymongo share its sockets."""

import eventlet

eventlet.monkey_patch()  # noqa: E402 - before anything imports socket, threading or ssl

import os  # noqa: E402

import pytest  # noqa: E402

from tests.support.infra import NxServer, RabbitVhost  # noqa: E402


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory):
    """An nx-27017 the suite starts on a free port with a temporary data directory, or the
    real MongoDB named by TEST_MONGO_URI, to confirm the code relies on no nx quirk."""
    if os.environ.get("TEST_MONGO_URI"):
        yield os.environ["TEST_MONGO_URI"]
        return
    server = NxServer(tmp_path_factory.mktemp("nx"))
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def amqp_uri():
    """A RabbitMQ virtual host of this run's own, deleted afterwards."""
    vhost = RabbitVhost()
    yield vhost.create()
    vhost.delete()


def pytest_unconfigure(config):
    # Handlers released during interpreter shutdown would take a green lock after eventlet's
    # hub is gone ("greenlet is being finalized"); flush and forget them while it still runs.
    import logging

    logging.shutdown()
    logging._handlerList.clear()  # noqa: SLF001 - no public way to drop the weak references
