"""Student aid tells the parent of each step through notifications: ``eligibility_decided``
when the application is taken and ``awards_approved`` (one per approvals run) when the
approvals take it, published
through the outbox with the parent's hash and org only (never why, never the amount); the
notifications service puts each in the parent's inbox."""

from __future__ import annotations

import json
import uuid

import pytest
from kombu import Connection, Queue, binding
from nameko.standalone.rpc import ClusterRpcProxy

from services.notifications.service import NotificationsService
from services.student_aid.service import StudentAidService
from shared.crypto import PiiVault
from shared.errors import ApiError
from shared.publisher import exchange_for
from shared.runner import nameko_config
from tests.integration.test_student_aid_service import (
    ADMIN,
    XL_STAFF,
    application,
    open_dossier,
    unopened_year,
)
from tests.support.client import new_id_number
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def test_the_parent_is_told_of_eligibility_and_approval_and_the_events_say_no_more(
    run_service, settings, amqp_uri, publisher
):
    vault = PiiVault.from_settings(settings.pii_encryption_keys, settings.pii_hash_key)
    student_aid = run_service(StudentAidService)
    run_service(NotificationsService)
    exchange = exchange_for("student_aid")
    tap = Queue(
        f"it-student-aid-tap-{uuid.uuid4().hex[:8]}",
        bindings=[
            binding(exchange, routing_key="eligibility_decided"),
            binding(exchange, routing_key="awards_approved"),
        ],
        auto_delete=True,
    )
    parent = new_id_number()
    with Connection(amqp_uri) as connection:
        tap(connection.default_channel).declare()
        proxy = ClusterRpcProxy(nameko_config(settings), context_data={"correlation_id": "it"})
        with proxy as cluster:
            year = unopened_year(cluster.student_aid)
            cluster.student_aid.open_campaign(
                ADMIN,
                {
                    "year": year,
                    "opens_on": f"{year}-07-01",
                    "closes_on": f"{year}-08-31",
                    "budget": "2600000.00",
                },
            )
            open_dossier(student_aid, publisher, vault, parent)
            taken = cluster.student_aid.submit_application(XL_STAFF, application(year, parent))
            assert taken["status"] == "eligible"
            refused = cluster.student_aid.submit_application(
                XL_STAFF, application(year, parent, school_kind="military")
            )
            assert refused["status"] == "ineligible"
            cluster.student_aid.run_approvals(ADMIN, year)

            def inbox():
                try:
                    return cluster.notifications.inbox(ADMIN, parent)["messages"]
                except ApiError:
                    return []

            # The dossier's own event (published by the test) is told too: four in all.
            messages = wait_until(inbox, lambda m: len(m) == 4, what="four notices")
            messages = [m for m in messages if m["event_type"] != "dossier_established"]
        seen = []

        def tapped():
            message = tap(connection.default_channel).get(no_ack=True)
            if message is not None:
                seen.append(
                    json.loads(message.body)
                    if isinstance(message.body, (str, bytes))
                    else message.body
                )
            return seen

        wait_until(tapped, lambda s: len(s) == 3, what="three student-aid events on the bus")
    by_type = sorted((e["event_type"], e["payload"].get("status")) for e in seen)
    assert by_type == [
        ("awards_approved", None),
        ("eligibility_decided", "eligible"),
        ("eligibility_decided", "ineligible"),
    ]
    hashes = {vault.lookup_hash(parent)}
    for event in seen:
        payload = event["payload"]
        if event["event_type"] == "awards_approved":
            assert set(payload) == {"campaign", "run", "awards"}
            assert [a["application_id"] for a in payload["awards"]] == [taken["application_id"]]
            assert {a["parent_id_hash"] for a in payload["awards"]} == hashes
            assert all(
                set(a) == {"application_id", "parent_id_hash", "org"} for a in payload["awards"]
            )
        else:
            assert set(payload) == {"application_id", "campaign", "parent_id_hash", "org", "status"}
            assert payload["parent_id_hash"] in hashes
    texts = sorted(m["text"] for m in messages)
    assert any("已通过资格审核" in t for t in texts)
    assert any("未通过资格审核" in t for t in texts)
    assert any("已获批准" in t for t in texts)
    assert not any("军" in t or "5000" in t for t in texts)
    assert {m["ref"] for m in messages} == {taken["application_id"], refused["application_id"]}
