"""Never lost after the 202, across a broker restart: on a RabbitMQ node and nx-27017 of its
own (the machine's broker is shared), a bill is confirmed and answered 202 while mutual_aid is
down, the broker is restarted, and the bill is decided once and its worker notified once when
mutual_aid is back."""

from __future__ import annotations

from contextlib import closing

import pytest

from scripts.devstack import Stack
from tests.e2e.conftest import JWT_SECRET, stack_env
from tests.e2e.test_bill_to_notice import bill, claim, inbox
from tests.e2e.test_two_replicas import enrol_members
from tests.support.client import Gateway
from tests.support.infra import NxServer, PrivateBroker
from tests.support.waiting import wait_until, wait_until_broker_idle

pytestmark = pytest.mark.e2e

HOSPITAL = {"code": "HKEPT01", "kind": "hospital", "name": "留存医院", "level": 3}
BILLS = f"/api/v1/hospitals/{HOSPITAL['code']}/discharge-bills"


@pytest.fixture(scope="module")
def own_broker_stack(tmp_path_factory):
    broker = PrivateBroker()
    nx = NxServer(tmp_path_factory.mktemp("kept-nx"))
    stack = Stack(tmp_path_factory.mktemp("kept-stack"), stack_env(nx.start(), broker.start()))
    try:
        stack.start()
        yield stack, broker
    finally:
        stack.stop()
        nx.stop()
        broker.stop()


def test_a_bill_confirmed_while_mutual_aid_is_down_survives_a_broker_restart(own_broker_stack):
    stack, broker = own_broker_stack
    with closing(Gateway(stack.gateway_url, JWT_SECRET)) as gateway:
        created = gateway.staff("POST", "/api/v1/partners", HOSPITAL)
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        members = enrol_members(gateway, 3)

        stack.stop_service("mutual_aid")
        answers = [gateway.signed(BILLS, bill(m), secret) for m in members]
        assert [a.status_code for a in answers] == [202, 202, 202], [a.text for a in answers]
        broker.restart()  # after the confirms: only what the broker wrote to disk is left
        stack.start_service("mutual_aid")
        stack.wait_healthy(timeout=120)

        for member, answer in zip(members, answers, strict=True):
            claim_id = answer.json()["claim_id"]
            decided = wait_until(
                lambda claim_id=claim_id: claim(gateway, claim_id),
                lambda c: c.get("status") not in (None, "received"),
                timeout=60,
                what=f"claim {claim_id} decided after the restart",
            )
            assert decided["status"] == "approved"
            wait_until(lambda member=member: inbox(gateway, member), timeout=60, what="a notice")
        wait_until_broker_idle(broker.amqp_uri, timeout=60, node=broker.node)
        assert [len(inbox(gateway, m)) for m in members] == [1, 1, 1]
