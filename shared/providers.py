"""Nameko dependency providers at the service's door: settings, the PII vault, the store,
correlation ids and the outbox relay."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from nameko.extensions import DependencyProvider
from pymongo.database import Database
from pymongo.errors import PyMongoError

from shared.config import Settings
from shared.crypto import vault_of
from shared.logs import set_correlation_id
from shared.mongo import get_database
from shared.outbox import OutboxRelay, appended_events, forget_appended
from shared.publisher import ConfirmedPublisher, PublisherPool

log = logging.getLogger(__name__)

SETTINGS_KEY = "UNIONHUB_SETTINGS"
# Broker connections of an EventPublisher: confirms awaited at once (the gateway runs up to
# nameko's max_workers, 20, requests at a time).
PUBLISHER_CONNECTIONS = 8


def settings_of(container) -> Settings:
    return container.config[SETTINGS_KEY]


def service_database(container) -> Database:
    settings = settings_of(container)
    return get_database(settings.mongo_uri, settings.database_name(container.service_name))


class SettingsProvider(DependencyProvider):
    """Injects the process's settings, read once at start (shared.config)."""

    def get_dependency(self, worker_ctx):
        return settings_of(self.container)


class VaultProvider(DependencyProvider):
    """Injects the PII vault (ID numbers and other sensitive fields sealed, hashed, opened)."""

    def setup(self):
        self.vault = vault_of(settings_of(self.container))

    def get_dependency(self, worker_ctx):
        return self.vault


class Store(DependencyProvider):
    """Injects the service's store, built once on the service's own database."""

    def __init__(self, factory: Callable[[Database, Settings], Any]):
        self.factory = factory

    def setup(self):
        self.store = self.factory(service_database(self.container), settings_of(self.container))
        self.store.ensure_indexes()

    def get_dependency(self, worker_ctx):
        return self.store


class Correlation(DependencyProvider):
    """Gives every worker a correlation id (inherited from the caller or new) for logs,
    RPC and events; nameko carries ``worker_ctx.data`` along RPC calls by itself."""

    def worker_setup(self, worker_ctx):
        correlation_id = worker_ctx.data.get("correlation_id") or str(uuid.uuid4())
        worker_ctx.data["correlation_id"] = correlation_id
        set_correlation_id(correlation_id)

    def worker_teardown(self, worker_ctx):
        set_correlation_id(None)

    def get_dependency(self, worker_ctx):
        # nameko injects before worker_setup: a timer or a bare standalone RPC carries no id yet.
        return worker_ctx.data.setdefault("correlation_id", str(uuid.uuid4()))


class OutboxRelayRunner(DependencyProvider):
    """Runs the outbox relay for the named collections in a background green thread. A worker
    that merged events into a write wakes it as the worker finishes, so events leave promptly;
    a poll catches anything left over (a crash, a broker outage, an unroutable event, a CLI's
    write)."""

    def __init__(self, *collection_names: str):
        self.collection_names = collection_names
        self.wake = threading.Event()

    def setup(self):
        settings = settings_of(self.container)
        db = service_database(self.container)
        self.poll_seconds = settings.outbox_poll_seconds
        self.publisher = ConfirmedPublisher(settings.amqp_uri)
        self.relay = OutboxRelay([db[name] for name in self.collection_names], self.publisher)
        self.relay.ensure_indexes()
        self.running = False

    def start(self):
        self.running = True
        self.thread = self.container.spawn_managed_thread(self._run, identifier="outbox_relay")

    def stop(self):
        self.running = False
        self.wake.set()
        self.thread.kill()
        self.publisher.close()

    def _run(self):
        while self.running:
            self.wake.clear()
            try:
                published = self.relay.relay_once()
            except PyMongoError:
                log.exception("outbox relay pass failed; retrying")
                published = 0
            # Straight on only when a full batch was taken (more may be waiting); else until a
            # worker wakes it (one that wrote during this pass has already) or the next poll,
            # rather than one more pass that finds nothing.
            if not (published and self.relay.more_pending):
                self.wake.wait(self.poll_seconds)

    def worker_setup(self, worker_ctx):
        forget_appended()

    def worker_teardown(self, worker_ctx):
        # nameko runs setup, the method and teardown in the worker's own green thread.
        if appended_events():
            self.wake.set()


class EventPublisher(DependencyProvider):
    """Injects the process's confirmed publisher (persistent, publisher confirms, ``mandatory``)
    for a service that publishes an event at once instead of through an outbox: the gateway,
    which keeps no state of its own for what it hands on. A publish returns only once the
    broker has the message; a failure raises, and the caller answers accordingly. Concurrent
    workers publish over ``PUBLISHER_CONNECTIONS`` connections, their confirms awaited at once."""

    def setup(self):
        self.publisher = PublisherPool(
            settings_of(self.container).amqp_uri, size=PUBLISHER_CONNECTIONS
        )

    def stop(self):
        self.publisher.close()

    def kill(self):
        self.publisher.close()

    def get_dependency(self, worker_ctx):
        return self.publisher
