"""Timers that fire once across replicas: a named lease in the service's own database.

Each replica runs the same nameko timer; on every tick a replica first takes (or renews) the
timer's lease, one ``find_one_and_update`` guarded by "expired or already mine", and only the
holder does the tick's work. The holder renews on each of its ticks; when it dies, its lease
runs out after ``ttl`` and the next replica to tick takes over. The work itself stays
idempotent (a holder can pause past its lease, as any process can), so the lease is what keeps
two replicas from doing the same run at once, not the only guard of correctness."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from nameko.timer import Timer
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.providers import service_database

log = logging.getLogger(__name__)

COLLECTION = "leases"
EXPIRED = datetime(1970, 1, 1, tzinfo=UTC)


def holder_id() -> str:
    """Who holds a lease: this host and process, plus a random part (pids repeat in pods)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    """One named lease in ``db.leases``: at most one holder until ``expires_at``."""

    def __init__(self, db: Database, name: str, ttl: timedelta):
        self.leases = db[COLLECTION]
        self.name = name
        self.ttl = ttl

    def acquire(self, holder: str, now: datetime | None = None) -> bool:
        """Take the lease if it is free or expired, or renew it if ``holder`` has it; True when
        ``holder`` holds it afterwards. Two replicas racing for a free lease: the upsert of one
        of them meets the other's ``_id`` and loses with a duplicate key."""
        now = now or datetime.now(UTC)
        taken = {"$set": {"holder": holder, "expires_at": now + self.ttl, "taken_at": now}}
        # Renew, or take over an expired lease: two guarded updates, never one filter with
        # "$or" beside "_id" (on nx-27017 such a filter matched another document).
        for guard in ({"holder": holder}, {"expires_at": {"$lte": now}}):
            if self.leases.update_one({"_id": self.name, **guard}, taken).matched_count:
                return True
        try:
            self.leases.insert_one({"_id": self.name, **taken["$set"]})
        except DuplicateKeyError:
            return False  # held by another replica (or taken by one an instant ago)
        return True

    def release(self, holder: str) -> None:
        """Give the lease up (on a clean stop), so another replica need not wait for ``ttl``."""
        self.leases.update_one(
            {"_id": self.name, "holder": holder}, {"$set": {"expires_at": EXPIRED}}
        )


class LeasedTimer(Timer):
    """``@leased_timer(interval=...)``: nameko's timer, whose tick runs the method only on the
    replica holding the lease named after the service and method. The lease lasts
    ``lease_seconds``, by default two intervals: a holder that misses one tick keeps it, and a
    dead holder loses it soon after."""

    def __init__(self, interval, eager=False, lease_seconds: float | None = None, **kwargs):
        super().__init__(interval, eager=eager, **kwargs)
        self.lease_seconds = lease_seconds or 2 * interval

    def setup(self):
        super().setup()
        self.holder = holder_id()
        name = f"{self.container.service_name}.{self.method_name}"
        ttl = timedelta(seconds=self.lease_seconds)
        self.lease = Lease(service_database(self.container), name, ttl)

    def stop(self):
        super().stop()
        try:
            self.lease.release(self.holder)
        except PyMongoError:
            log.warning("lease not released; it expires by itself", extra={"lease": self.name})

    @property
    def name(self) -> str:
        return self.lease.name

    def handle_timer_tick(self):
        try:
            mine = self.lease.acquire(self.holder)
        except PyMongoError:
            log.warning("store unreachable: tick skipped", extra={"lease": self.name})
            mine = False
        if mine:
            super().handle_timer_tick()
        else:
            # nameko's loop waits for the tick's worker to complete before the next sleep.
            self.worker_complete.send()


leased_timer = LeasedTimer.decorator
