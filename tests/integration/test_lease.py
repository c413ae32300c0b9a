"""Timers fire once across replicas: the lease in the service's store (nx-27017 through
pymongo), and two replicas of one service running a leased timer on the real broker."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.lease import Lease, leased_timer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

T0 = datetime(2018, 6, 1, 8, 0, tzinfo=UTC)
TTL = timedelta(seconds=10)


def test_a_free_lease_is_taken_and_a_held_one_refused_until_it_expires(db):
    lease = Lease(db, "svc.tick", TTL)

    assert lease.acquire("a", now=T0)
    assert not lease.acquire("b", now=T0 + timedelta(seconds=9))
    assert lease.acquire("b", now=T0 + timedelta(seconds=10))
    assert not lease.acquire("a", now=T0 + timedelta(seconds=11))


def test_the_holder_renews_its_lease(db):
    lease = Lease(db, "svc.tick", TTL)
    assert lease.acquire("a", now=T0)

    assert lease.acquire("a", now=T0 + timedelta(seconds=8))  # renewed until T0 + 18 s
    assert not lease.acquire("b", now=T0 + timedelta(seconds=15))


def test_a_released_lease_is_free_at_once(db):
    lease = Lease(db, "svc.tick", TTL)
    assert lease.acquire("a", now=T0)

    lease.release("a")

    assert lease.acquire("b", now=T0 + timedelta(seconds=1))


def test_release_by_another_holder_changes_nothing(db):
    lease = Lease(db, "svc.tick", TTL)
    assert lease.acquire("a", now=T0)

    lease.release("b")

    assert not lease.acquire("b", now=T0 + timedelta(seconds=1))


def test_leases_of_other_names_are_independent(db):
    assert Lease(db, "svc.one", TTL).acquire("a", now=T0)
    assert Lease(db, "svc.two", TTL).acquire("b", now=T0)


def test_an_expired_lease_of_another_name_is_not_taken_instead(db):
    assert Lease(db, "svc.one", TTL).acquire("a", now=T0)  # expires at T0 + 10 s
    assert Lease(db, "svc.two", TTL).acquire("b", now=T0 + timedelta(seconds=5))  # T0 + 15 s

    assert not Lease(db, "svc.two", TTL).acquire("c", now=T0 + timedelta(seconds=12))
    assert Lease(db, "svc.one", TTL).acquire("c", now=T0 + timedelta(seconds=12))
    assert not Lease(db, "svc.one", TTL).acquire("a", now=T0 + timedelta(seconds=13))


def test_many_replicas_racing_for_a_free_lease_one_wins(db):
    start = threading.Barrier(8)
    won: list[str] = []

    def race(holder: str) -> None:
        lease = Lease(db, "svc.race", TTL)  # each replica its own handle, as in a process
        start.wait()
        if lease.acquire(holder, now=T0):
            won.append(holder)

    threads = [threading.Thread(target=race, args=(f"r{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(won) == 1


TICKS: list[tuple[str, str]] = []  # (run, replica) per tick that did the work


def ticking_service(run: str):
    """A service of its own name per test, so the lease is this test's alone."""

    class Ticking:
        name = f"lease_it_{run}"

        @leased_timer(interval=0.1, lease_seconds=60)
        def tick(self):
            TICKS.append((run, self.container_id))

    return Ticking


def test_of_two_replicas_only_the_lease_holder_ticks_and_the_other_takes_over_when_it_stops(
    run_service,
):
    run = uuid.uuid4().hex[:8]
    service = ticking_service(run)
    replicas = {
        name: run_service(type(service.__name__, (service,), {"container_id": name}))
        for name in ("first", "second")
    }

    def ticks():
        return [who for r, who in TICKS if r == run]

    wait_until(ticks, lambda seen: len(seen) >= 10, what="ten ticks")
    holders = set(ticks())
    assert len(holders) == 1, holders  # the same replica did every tick's work

    [holder] = holders
    [other] = set(replicas) - holders
    replicas[holder].stop()  # a clean stop releases the lease
    done_before = len(ticks())
    wait_until(
        lambda: ticks()[done_before:],
        lambda later: len(later) >= 5,
        what="the other replica taking over",
    )
    assert set(ticks()[done_before:]) == {other}
