"""The policy version index is cached per process; an expired cache is read again once, not by
every worker deciding at that moment."""

from __future__ import annotations

import uuid
from datetime import date

import eventlet

from services.mutual_aid.application import policies
from services.mutual_aid.application.policies import PolicyBook


class SlowStore:
    """The versions shipped in config/policy, read with a store's latency, counted."""

    def __init__(self):
        self.database_name = f"unit_{uuid.uuid4().hex[:8]}"
        self.entries: dict[str, dict] = {}
        self.index_reads = 0

    def policy_index(self) -> list[dict]:
        self.index_reads += 1
        eventlet.sleep(0.02)
        return sorted(
            ({k: v for k, v in e.items() if k != "document"} for e in self.entries.values()),
            key=lambda e: e["effective_from"],
        )

    def policy_document(self, version: str) -> dict | None:
        return self.entries.get(version)

    def add_policy(self, entry: dict) -> bool:
        self.entries[entry["_id"]] = entry
        return True


def test_an_expired_index_is_read_once_by_workers_deciding_at_once(monkeypatch):
    store = SlowStore()
    book = PolicyBook(store, "config/policy")
    book.in_force_on(date(2018, 5, 9))
    monkeypatch.setattr(policies, "INDEX_CACHE_SECONDS", 0.01)
    eventlet.sleep(0.02)  # expired
    before = store.index_reads
    pool = eventlet.GreenPool(10)
    found = list(pool.imap(lambda _: book.in_force_on(date(2018, 5, 9)).version, range(10)))
    assert store.index_reads - before == 1
    assert found == ["mutual_aid/2018-v1"] * 10


def test_a_failed_read_leaves_the_index_due(monkeypatch):
    store = SlowStore()
    book = PolicyBook(store, "config/policy")
    book.in_force_on(date(2018, 5, 9))
    monkeypatch.setattr(policies, "INDEX_CACHE_SECONDS", 0.01)
    eventlet.sleep(0.02)
    due = policies._INDEX[store.database_name]  # noqa: SLF001 - the cache entry itself

    def down():
        raise ConnectionError("store down")

    monkeypatch.setattr(store, "policy_index", down)
    try:
        book.in_force_on(date(2018, 5, 9))
    except ConnectionError:
        pass
    else:
        raise AssertionError("the failed read must not be hidden")
    assert policies._INDEX[store.database_name] is due  # noqa: SLF001 - read again next time
