"""Two of everything (`make run REPLICAS=2`): two processes of every service and two gateways
on a stack of its own. Bills sent through both gateways, each one twice, with a replica of the
consumers killed mid-stream, are each decided once and notified once; the test prints the
lost, duplicated and stuck counts, which must all be zero."""

from __future__ import annotations

import signal
import threading
from contextlib import ExitStack, closing

import pytest

from scripts.devstack import SERVICES, Stack
from tests.e2e.conftest import JWT_SECRET, stack_env
from tests.e2e.test_bill_to_notice import bill, claim, inbox
from tests.support.client import Gateway, new_id_number
from tests.support.infra import NxServer, RabbitVhost
from tests.support.waiting import wait_until, wait_until_broker_idle

pytestmark = pytest.mark.e2e

HOSPITAL = {"code": "HPAIR01", "kind": "hospital", "name": "双副本医院", "level": 3}
BILLS = f"/api/v1/hospitals/{HOSPITAL['code']}/discharge-bills"


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A stack of two replicas of every service, on its own nx-27017 and vhost."""
    nx, vhost = NxServer(tmp_path_factory.mktemp("pair-nx")), RabbitVhost()
    env = stack_env(nx.start(), vhost.create())
    stack = Stack(tmp_path_factory.mktemp("pair-stack"), env, replicas=2)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        vhost.delete()
        nx.stop()


@pytest.fixture(scope="module")
def gateways(pair):
    with ExitStack() as stack:
        yield [stack.enter_context(closing(Gateway(url, JWT_SECRET))) for url in pair.gateway_urls]


@pytest.fixture(scope="module")
def secret(gateways):
    response = gateways[0].staff("POST", "/api/v1/partners", HOSPITAL)
    assert response.status_code == 201, response.text
    return response.json()["secret"]


def enrol_members(gateway, count: int) -> list[str]:
    members = [new_id_number() for _ in range(count)]
    response = gateway.staff(
        "POST",
        "/api/v1/mutual-aid/enrollments",
        {
            "period": 11,
            "employer_org": "LY-XL-0042",
            "plan": "A",
            "enrolled_on": "2017-11-20",
            "members": [
                {"id_number": m, "name": "张三明", "coverage_start": "2018-01-01"} for m in members
            ],
        },
    )
    assert response.status_code == 201, response.text
    return members


def post_as_a_hospital(gateway, body: dict, secret: str):
    """A hospital sends its bill again after a 503 (nothing was acknowledged), as API.md
    asks of it: a replica killed while holding the request can cost one answer."""
    for _ in range(3):
        response = gateway.signed(BILLS, body, secret)
        if response.status_code != 503:
            return response
    return response


def send_twice(
    gateways, secret: str, members: list[str], claims: dict[str, str] | None = None
) -> dict[str, str]:
    """Each member's bill through one gateway, then again through the other: the claim id
    each answer names, by member, filled in as they come (a repeat names the same claim, 200
    or 202)."""
    claims = {} if claims is None else claims
    for i, member in enumerate(members):
        body = bill(member, hospital_level=HOSPITAL["level"])
        first = post_as_a_hospital(gateways[i % 2], body, secret)
        again = post_as_a_hospital(gateways[(i + 1) % 2], body, secret)
        assert first.status_code == 202, first.text
        assert again.status_code in (200, 202), again.text
        assert again.json()["claim_id"] == first.json()["claim_id"]
        claims[member] = first.json()["claim_id"]
    return claims


def tally(gateway, amqp_uri: str, claims: dict[str, str]) -> dict[str, int]:
    """Once the broker is idle: bills never decided (stuck; lost if unknown), and workers
    notified other than once."""
    wait_until(
        lambda: [claim(gateway, c).get("status", "unknown") for c in claims.values()],
        lambda statuses: "received" not in statuses,
        what="every claim decided",
        timeout=120,
    )
    wait_until_broker_idle(amqp_uri, timeout=60)
    statuses = {m: claim(gateway, c).get("status", "unknown") for m, c in claims.items()}
    notices = {m: len(inbox(gateway, m)) for m in claims}
    counts = {
        "lost": sum(1 for s in statuses.values() if s == "unknown"),
        "stuck": sum(1 for s in statuses.values() if s == "received"),
        "unnotified": sum(1 for n in notices.values() if n == 0),
        "duplicated": sum(1 for n in notices.values() if n > 1),
    }
    print(f"two replicas, {len(claims)} bills each sent twice: {counts}")
    return counts


def test_every_service_runs_as_two_processes_and_both_gateways_answer(pair):
    for service in SERVICES:
        for replica in (0, 1):
            process = pair.processes[Stack.instance_name(service, replica)]
            assert process.poll() is None, f"{service} replica {replica + 1} exited"
    for url in pair.gateway_urls:
        assert (pair.health(url) or {}).get("status") == "ok", url


def test_bills_sent_twice_through_both_gateways_are_decided_and_notified_once(
    gateways, secret, pair
):
    members = enrol_members(gateways[0], 12)

    claims = send_twice(gateways, secret, members)

    counts = tally(gateways[1], pair.env["AMQP_URI"], claims)
    assert counts == {"lost": 0, "stuck": 0, "unnotified": 0, "duplicated": 0}


def test_a_replica_of_each_consumer_killed_mid_stream_loses_and_repeats_nothing(
    gateways, secret, pair
):
    members = enrol_members(gateways[0], 20)
    claims: dict[str, str] = {}
    failures: list[BaseException] = []

    def send() -> None:
        try:
            send_twice(gateways, secret, members, claims)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread below
            failures.append(exc)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    wait_until(lambda: len(claims), lambda n: n >= 1, what="the first bills accepted")
    for service in ("mutual_aid", "notifications"):
        pair.stop_service(Stack.instance_name(service, 1), signal.SIGKILL)
    sender.join(120)
    assert not sender.is_alive()
    assert failures == []
    assert len(claims) == len(members)
    for service in ("mutual_aid", "notifications"):
        pair.start_service(
            service, pair.replica_env(service, 1), instance=Stack.instance_name(service, 1)
        )

    counts = tally(gateways[0], pair.env["AMQP_URI"], claims)
    assert counts == {"lost": 0, "stuck": 0, "unnotified": 0, "duplicated": 0}
