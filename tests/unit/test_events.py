"""The envelope and the catalogue: payloads are checked on the way out and on the way in."""

import pytest
from marshmallow import ValidationError

from shared.events import UnknownEventType, make_event, parse_event
from shared.outbox import update_with_events

DECIDED = {
    "claim_id": "c1",
    "member_id_hash": "h",
    "member_id_masked": "350802********1234",
    "status": "approved",
    "amount_fen": 66000,
    "reason_code": None,
    "period": 11,
    "policy_version": "mutual_aid/2018-v1",
}


def test_make_event_fills_the_envelope():
    event = make_event("claim_decided", DECIDED, producer="mutual_aid", correlation_id="corr")
    assert event.version == 1 and event.producer == "mutual_aid" and event.correlation_id == "corr"
    assert event.occurred_at.endswith("+08:00")  # Asia/Shanghai
    assert parse_event(event.to_dict()) == event


def test_payload_breaking_the_schema_is_refused_before_it_is_stored():
    with pytest.raises(ValidationError) as error:
        make_event("claim_decided", {**DECIDED, "amount_fen": -1}, producer="p", correlation_id="c")
    assert "amount_fen" in error.value.messages


def test_unknown_event_type_or_version_is_refused():
    with pytest.raises(UnknownEventType):
        make_event("claim_decided", DECIDED, producer="p", correlation_id="c", version=9)


def test_consumers_ignore_fields_added_by_a_newer_producer():
    body = make_event("claim_decided", DECIDED, producer="p", correlation_id="c").to_dict()
    body["payload"]["added_later"] = 1
    body["added_to_envelope"] = 2
    assert "added_later" not in parse_event(body).payload


def test_outbox_merges_events_into_the_same_update():
    event = make_event("claim_decided", DECIDED, producer="p", correlation_id="c")
    update = update_with_events({"$set": {"status": "approved"}, "$inc": {"n": 1}}, [event])
    assert update["$set"]["status"] == "approved"
    assert update["$set"][f"outbox.{event.event_id}"]["event_type"] == "claim_decided"
    assert update["$set"]["outbox_pending"] is True
    assert update["$inc"] == {"n": 1, "outbox_rev": 1}
