"""The gateway's partner registry on nx-27017: a bounded cache that never keeps a miss."""

from __future__ import annotations

import dataclasses

import pytest

from services.gateway.store import GatewayStore
from shared.webhooks import generate_webhook_secret

pytestmark = pytest.mark.integration


@pytest.fixture
def store(db, settings):
    return GatewayStore(db, dataclasses.replace(settings, partner_cache_size=2))


def add(store: GatewayStore, code: str) -> None:
    store.add_partner(
        code=code, kind="hospital", name=code, level=3, secret=generate_webhook_secret()
    )


def test_partner_cache_never_caches_misses(store):
    assert store.partner("H0001") is None
    add(store, "H0001")
    assert store.partner("H0001")["name"] == "H0001"


def test_partner_cache_is_bounded_by_its_size_setting(store):
    for code in ("H0001", "H0002", "H0003"):
        add(store, code)
        store.partner(code)
    for code in ("H0001", "H0003"):
        store.partners.update_one({"_id": code}, {"$set": {"name": "renamed"}})
    # Two entries fit: the first one looked up was dropped and is read again, the last is
    # still the cached copy.
    assert store.partner("H0001")["name"] == "renamed"
    assert store.partner("H0003")["name"] == "H0003"
