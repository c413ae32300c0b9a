"""The idempotent consumer on nx-27017: the effect and its applied mark are one write."""

from __future__ import annotations

import eventlet
import pytest

from shared.consumer import apply_once

pytestmark = pytest.mark.integration


def test_event_applies_once_however_often_it_is_delivered(db):
    db.totals.insert_one({"_id": "m1", "total": 0})
    results = [
        apply_once(db.totals, {"_id": "m1"}, {"$inc": {"total": 5}}, "ev-1") for _ in range(3)
    ]
    assert results == [True, False, False]
    assert db.totals.find_one({"_id": "m1"})["total"] == 5
    assert apply_once(db.totals, {"_id": "m1"}, {"$inc": {"total": 5}}, "ev-2") is True
    assert db.totals.find_one({"_id": "m1"})["total"] == 10


def test_concurrent_deliveries_of_one_event_apply_once(db):
    db.totals.insert_one({"_id": "m2", "total": 0})
    pool = eventlet.GreenPool(8)
    results = list(
        pool.imap(
            lambda _: apply_once(db.totals, {"_id": "m2"}, {"$inc": {"total": 1}}, "ev-x"), range(8)
        )
    )
    assert results.count(True) == 1
    assert db.totals.find_one({"_id": "m2"})["total"] == 1


def test_upsert_creates_the_read_model_entry_once(db):
    for _ in range(2):
        apply_once(db.heads, {"_id": "h1"}, {"$set": {"tier": "national"}}, "ev-up", upsert=True)
    assert db.heads.find_one({"_id": "h1"})["tier"] == "national"
    assert (
        apply_once(db.heads, {"_id": "h1"}, {"$set": {"tier": "local"}}, "ev-up", upsert=True)
        is False
    )


def test_effect_with_nowhere_to_land_is_an_error(db):
    with pytest.raises(LookupError):
        apply_once(db.totals, {"_id": "missing"}, {"$inc": {"total": 1}}, "ev-3")
