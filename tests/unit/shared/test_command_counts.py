"""shared/mongo.py's command counter: what the bench's commands_per_bill reads."""

from __future__ import annotations

import json

from pymongo import monitoring

from shared.mongo import CommandCounter, read_command_counts


def started(database: str, name: str, target="claims") -> monitoring.CommandStartedEvent:
    return monitoring.CommandStartedEvent(
        {name: target, "$db": database}, database, 1, ("127.0.0.1", 27017), None
    )


def test_counts_application_commands_per_collection_and_name_not_the_drivers(tmp_path):
    counter = CommandCounter(tmp_path / "mutual_aid-1.json", "mutual_aid")
    for name in ("insert", "find", "find", "hello", "ping"):
        counter.started(started("unionhub_mutual_aid", name))
    counter.started(started("unionhub_mutual_aid", "aggregate", target=1))  # on the database
    counter.flush()
    document = json.loads((tmp_path / "mutual_aid-1.json").read_text())
    assert document["commands"] == {
        "unionhub_mutual_aid.claims.insert": 1,
        "unionhub_mutual_aid.claims.find": 2,
        "unionhub_mutual_aid.aggregate": 1,
    }
    assert document["total"] == 4


def test_counts_of_every_process_of_a_service_are_summed(tmp_path):
    for pid, name in ((1, "insert"), (2, "insert"), (3, "find")):
        service = "notifications" if pid == 3 else "mutual_aid"
        counter = CommandCounter(tmp_path / f"{service}-{pid}.json", service)
        counter.started(started("db", name))
        counter.flush()
    assert read_command_counts(tmp_path) == {
        "mutual_aid": {"db.claims.insert": 2},
        "notifications": {"db.claims.find": 1},
    }
