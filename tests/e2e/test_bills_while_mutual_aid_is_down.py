"""A valid bill is accepted while mutual_aid is down, as long as the broker is up: the gateway
queues it (persistent, confirmed) and answers 202 with the claim id of (hospital, bill number);
mutual_aid decides it once when it is back. Never lost after the 202, never applied twice."""

from __future__ import annotations

import signal

import pytest

from tests.e2e.test_bill_to_notice import BILLS, bill, decided, enrol, inbox, inbox_after
from tests.support.client import new_id_number
from tests.support.infra import crash_queue, queue_messages
from tests.support.waiting import wait_until, wait_until_broker_idle

pytestmark = pytest.mark.e2e

BILL_QUEUE = "evt-gateway-bill_submitted--mutual_aid.decide_bill"


def start_mutual_aid(stack) -> None:
    stack.start_service("mutual_aid")
    stack.wait_healthy()


def test_bill_is_202_while_mutual_aid_is_down_and_decided_once_when_it_is_back(
    gateway, hospital, stack
):
    id_number = new_id_number()
    enrol(gateway, id_number)
    body = bill(id_number)
    stack.stop_service("mutual_aid")
    try:
        first = gateway.signed(BILLS, body, hospital["secret"], webhook_id="msg_down_1")
        again = gateway.signed(BILLS, body, hospital["secret"])  # the same bill, a new webhook id
        replay = gateway.signed(BILLS, body, hospital["secret"], webhook_id="msg_down_1")
        assert first.status_code == 202, first.text
        assert again.status_code in (200, 202) and replay.status_code == 202
        assert first.json() == {"claim_id": first.json()["claim_id"], "status": "received"}
        assert again.json()["claim_id"] == replay.json()["claim_id"] == first.json()["claim_id"]
        # Kept by the broker, on disk, until mutual_aid takes it.
        held = queue_messages(stack.env["AMQP_URI"], BILL_QUEUE)
        assert held == {"durable": True, "messages": 3, "persistent": 3}
    finally:
        start_mutual_aid(stack)

    decision = decided(gateway, first.json()["claim_id"])
    assert (decision["status"], decision["amount"]) == ("approved", "660.00")
    inbox_after(gateway, id_number)
    wait_until_broker_idle(stack.env["AMQP_URI"])
    assert len(inbox(gateway, id_number)) == 1


def test_errors_that_need_mutual_aid_become_decisions_not_http_errors(gateway, hospital, stack):
    """A bill of someone never enrolled is a 202 with mutual_aid down, then a rejected claim."""
    id_number = new_id_number()
    stack.stop_service("mutual_aid")
    try:
        response = gateway.signed(BILLS, bill(id_number), hospital["secret"])
        assert response.status_code == 202, response.text
        # What the gateway checks itself is still refused at once, naming the field.
        refused = gateway.signed(BILLS, bill(id_number, hospital_level=1), hospital["secret"])
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "hospital_level_mismatch"
        malformed = gateway.signed(
            BILLS, {**bill(id_number), "total_cost": "1.234"}, hospital["secret"]
        )
        assert malformed.status_code == 400
        assert list(malformed.json()["error"]["fields"]) == ["total_cost"]
    finally:
        start_mutual_aid(stack)
    decision = decided(gateway, response.json()["claim_id"])
    assert (decision["status"], decision["reason_code"]) == ("rejected", "not_enrolled")


def test_a_confirmed_bill_survives_the_broker_queue_crashing_before_it_is_consumed(
    gateway, hospital, stack
):
    id_number = new_id_number()
    enrol(gateway, id_number)
    stack.stop_service("mutual_aid")
    try:
        response = gateway.signed(BILLS, bill(id_number), hospital["secret"])
        assert response.status_code == 202, response.text
        crash_queue(stack.env["AMQP_URI"], BILL_QUEUE)
        # Recovered from the broker's disk: the confirmed, persistent message is still there.
        held = wait_until(
            lambda: queue_messages(stack.env["AMQP_URI"], BILL_QUEUE),
            lambda q: q["messages"] == 1,
            what="the bill queue back with its message",
        )
        assert held["persistent"] == 1
    finally:
        start_mutual_aid(stack)
    assert decided(gateway, response.json()["claim_id"])["status"] == "approved"
    inbox_after(gateway, id_number)
    wait_until_broker_idle(stack.env["AMQP_URI"])
    assert len(inbox(gateway, id_number)) == 1


def test_consumer_killed_while_deciding_loses_no_bill_and_decides_none_twice(
    gateway, hospital, stack
):
    members = [new_id_number() for _ in range(12)]
    for id_number in members:
        enrol(gateway, id_number)
    stack.stop_service("mutual_aid")
    try:
        claims = []
        for id_number in members:
            response = gateway.signed(BILLS, bill(id_number), hospital["secret"])
            assert response.status_code == 202, response.text
            claims.append(response.json()["claim_id"])
        stack.start_service("mutual_aid")
        # Killed as soon as it has taken some of the queue (SIGKILL: no clean shutdown).
        wait_until(
            lambda: queue_messages(stack.env["AMQP_URI"], BILL_QUEUE)["messages"],
            lambda left: left < len(members),
            timeout=60,
            what="mutual_aid taking bills",
            interval=0.01,
        )
        stack.stop_service("mutual_aid", signal.SIGKILL)
    finally:
        start_mutual_aid(stack)

    for claim_id, id_number in zip(claims, members, strict=True):
        assert decided(gateway, claim_id)["status"] == "approved"
        inbox_after(gateway, id_number)
    wait_until_broker_idle(stack.env["AMQP_URI"])
    assert [len(inbox(gateway, id_number)) for id_number in members] == [1] * len(members)
