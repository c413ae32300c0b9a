"""A bad night, on a stack of its own (its own RabbitMQ node and nx-27017): with bills streaming
in, mutual_aid is killed with SIGKILL, the broker is restarted, the store is restarted, and
afterwards every event the night produced is delivered a second time. Every bill a hospital
got a 2xx for is decided once and its worker notified once; the test prints the lost,
duplicated and stuck counts, which must all be zero.

A hospital sends a bill again when it got no 2xx (API.md): during the broker's and the store's
restarts the gateway answers 503, and the sender here retries as a hospital would."""

from __future__ import annotations

import signal
import threading
import time
from contextlib import closing

import pytest
from kombu import Connection, Queue

from scripts.devstack import Stack
from shared.publisher import exchange_for
from tests.e2e.conftest import JWT_SECRET, stack_env
from tests.e2e.test_bill_to_notice import bill, claim, inbox
from tests.e2e.test_two_replicas import enrol_members
from tests.support.client import Gateway
from tests.support.infra import NxServer, PrivateBroker
from tests.support.waiting import wait_until, wait_until_broker_idle

pytestmark = pytest.mark.e2e

HOSPITAL = {"code": "HNIGHT1", "kind": "hospital", "name": "夜班医院", "level": 3}
BILLS = f"/api/v1/hospitals/{HOSPITAL['code']}/discharge-bills"
# Whose events the bill's path carries: the gateway's bill_submitted (the bill queued for
# mutual_aid), then mutual_aid's claim_decided.
PRODUCERS = ("gateway", "mutual_aid")
TAP = "test-bad-night-tap"  # a copy of every event, to deliver each a second time
BILL_COUNT = 30


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    broker = PrivateBroker()
    nx = NxServer(tmp_path_factory.mktemp("night-nx"))
    env = stack_env(nx.start(), broker.start())
    stack = Stack(tmp_path_factory.mktemp("night-stack"), env)
    try:
        tap_every_event(broker.amqp_uri)
        stack.start()
        yield stack, broker, nx
    finally:
        stack.stop()
        nx.stop()
        broker.stop()


def tap_every_event(amqp_uri: str) -> None:
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        for producer in PRODUCERS:
            Queue(TAP, exchange=exchange_for(producer), routing_key="#", durable=True)(
                channel
            ).declare()


def deliver_every_event_again(amqp_uri: str) -> int:
    """Drain the tap, delete it (it would copy the repeats too), then publish each event
    once more, as it was (body, headers, routing key)."""
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        tap = Queue(TAP)(channel)
        copies = []
        while (message := tap.get(no_ack=True)) is not None:
            copies.append(message)
        tap.delete()
        producer = connection.Producer(channel)
        for message in copies:
            producer.publish(
                message.body,
                exchange=message.delivery_info["exchange"],
                routing_key=message.delivery_info["routing_key"],
                headers=message.headers,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                delivery_mode=2,
            )
    return len(copies)


def post_until_kept(gateway, body: dict, secret: str) -> str:
    """The claim id of the first 2xx: a hospital sends again after a 503 or no answer."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            response = gateway.signed(BILLS, body, secret)
        except OSError:
            response = None
        if response is not None and response.status_code in (200, 202):
            return response.json()["claim_id"]
        assert response is None or response.status_code == 503, response.text
        time.sleep(1)
    raise AssertionError(f"bill {body['bill_no']} never accepted")


def settled(gateway, claims: dict[str, str]) -> None:
    """Wait (bounded) for every claim decided and notified; what is not is counted below."""
    try:
        wait_until(
            lambda: [
                claim(gateway, c).get("status") != "received" and bool(inbox(gateway, m))
                for m, c in claims.items()
            ],
            all,
            timeout=180,
            what="every claim decided and notified",
        )
    except AssertionError:
        pass  # the counts say which


def test_a_bad_night_loses_nothing_and_repeats_nothing(night):
    stack, broker, nx = night
    with closing(Gateway(stack.gateway_url, JWT_SECRET)) as gateway:
        response = gateway.staff("POST", "/api/v1/partners", HOSPITAL)
        assert response.status_code == 201, response.text
        secret = response.json()["secret"]
        members = enrol_members(gateway, BILL_COUNT)
        claims: dict[str, str] = {}
        failures: list[BaseException] = []

        def stream() -> None:
            try:
                for member in members:
                    body = bill(member, hospital_level=HOSPITAL["level"])
                    claims[member] = post_until_kept(gateway, body, secret)
                    time.sleep(0.2)
            except BaseException as exc:  # noqa: BLE001 - reported by the test thread
                failures.append(exc)

        sender = threading.Thread(target=stream, daemon=True)
        sender.start()

        def after(count: int) -> None:
            wait_until(lambda: len(claims), lambda n: n >= count, timeout=180, what=f"{count}")

        after(5)
        stack.stop_service("mutual_aid", signal.SIGKILL)
        stack.start_service("mutual_aid")
        after(10)
        broker.restart()
        after(18)
        nx.restart()
        sender.join(300)
        assert not sender.is_alive() and failures == [], failures
        stack.wait_healthy(timeout=120)

        settled(gateway, claims)
        wait_until_broker_idle(broker.amqp_uri, timeout=120, node=broker.node)
        delivered_again = deliver_every_event_again(broker.amqp_uri)
        wait_until_broker_idle(broker.amqp_uri, timeout=120, node=broker.node)
        settled(gateway, claims)

        statuses = {m: claim(gateway, c).get("status", "unknown") for m, c in claims.items()}
        notices = {m: len(inbox(gateway, m)) for m in claims}
        counts = {
            "lost": sum(1 for s in statuses.values() if s == "unknown"),
            "stuck": sum(1 for s in statuses.values() if s == "received"),
            "unnotified": sum(1 for n in notices.values() if n == 0),
            "duplicated": sum(1 for n in notices.values() if n > 1),
        }
        print(
            f"bad night: {len(claims)} bills accepted, {delivered_again} events delivered "
            f"twice: {counts}"
        )
        assert len(claims) == BILL_COUNT
        assert delivered_again >= 2 * BILL_COUNT  # submitted and decided, at least, per bill
        assert counts == {"lost": 0, "stuck": 0, "unnotified": 0, "duplicated": 0}
