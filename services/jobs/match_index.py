"""The match index as a nameko dependency: one per process (each replica its own), built from
the store when the service starts and refreshed from the store's change sequence every
``REFRESH_SECONDS`` in a background green thread (services/jobs/application/matching.py)."""

from __future__ import annotations

import logging

import eventlet
from nameko.extensions import DependencyProvider
from pymongo.errors import PyMongoError

from services.jobs.application.matching import REFRESH_SECONDS, MatchFeed
from services.jobs.domain.policy import SERVICE, JobsPolicy
from services.jobs.store import JobsStore
from shared.events import today_shanghai
from shared.policy import policy_in_force
from shared.providers import service_database, settings_of

log = logging.getLogger(__name__)


class MatchIndexProvider(DependencyProvider):
    def setup(self):
        settings = settings_of(self.container)
        store = JobsStore(service_database(self.container), settings)
        policy = policy_in_force(
            settings.policy_dir, SERVICE, today_shanghai(), JobsPolicy.from_document
        )
        self.feed = MatchFeed(store, policy)
        self.running = False

    def start(self):
        self.running = True
        self.thread = self.container.spawn_managed_thread(self._run, identifier="match_index")

    def stop(self):
        self.running = False
        self.thread.kill()

    def _run(self):
        while self.running:
            try:
                changed = self.feed.refresh(pause=lambda: eventlet.sleep(0))
                if changed:
                    log.debug("match index refreshed", extra={"changed": changed})
            except PyMongoError:
                log.exception("match index refresh failed; retrying")
            eventlet.sleep(REFRESH_SECONDS)

    def get_dependency(self, worker_ctx):
        return self.feed
