"""Notifications over HTTP: a claim decided at 23:00 (the notifications service's test clock,
``NOTIFICATIONS_CLOCK_FILE``, set by the e2e stack) is deferred, sent at 08:00 by WeChat
because the worker turned SMS off, and read by the worker on the city portal; contacts bound
on the portal, masked for staff; the figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from shared.events import SHANGHAI
from tests.e2e.test_bill_to_notice import BILLS, bill, decided, deliveries, enrol, inbox_after
from tests.support.client import new_id_number
from tests.support.waiting import wait_until, wait_until_broker_idle

pytestmark = pytest.mark.e2e

CONTACTS = "/api/v1/notifications/contacts"
CITY_CONTACTS = "/api/v1/city/contacts"
CITY_INBOX = "/api/v1/city/inbox/query"
OPENID = "oWx_7Qm2LkPz9aBcDeFgHi"


@pytest.fixture(scope="module")
def portal(gateway):
    """A registered city platform: its code and secret."""
    response = gateway.staff(
        "POST", "/api/v1/partners", {"code": "NOTIFYCP", "kind": "city_platform", "name": "i龙岩"}
    )
    assert response.status_code == 201, response.text
    return response.json()


def signed(gateway, portal, path, body, **kwargs):
    return gateway.signed(path, body, portal["secret"], **kwargs)


@pytest.fixture
def clock(stack):
    path = Path(stack.env["NOTIFICATIONS_CLOCK_FILE"])
    yield path
    path.write_text("", encoding="utf-8")  # the wall clock again for every other test


def test_a_claim_decided_at_23_is_sent_at_8_by_wechat_and_read_on_the_portal(
    gateway, hospital, portal, clock, stack
):
    night = datetime.now(SHANGHAI).replace(hour=23, minute=0, second=0, microsecond=0)
    clock.write_text(night.isoformat(), encoding="utf-8")
    id_number = new_id_number()
    enrol(gateway, id_number)
    # The worker binds a phone and WeChat on the portal, and tells staff: no SMS.
    bound = signed(
        gateway,
        portal,
        CITY_CONTACTS,
        {"id_number": id_number, "mobile": "13800001234", "wechat_openid": OPENID},
    )
    assert bound.status_code == 204, bound.text
    assert bound.content == b""
    staff_set = gateway.staff(
        "PUT",
        CONTACTS,
        {
            "id_number": id_number,
            "mobile": "13800001234",
            "wechat_openid": OPENID,
            "preferences": {"sms": False, "wechat": True},
        },
    )
    assert staff_set.status_code == 204, staff_set.text
    shown = gateway.staff("POST", f"{CONTACTS}/query", {"id_number": id_number})
    assert shown.status_code == 200, shown.text
    assert shown.json() == {
        "id_number": id_number[:6] + "********" + id_number[-4:],
        "mobile": "138****1234",
        "wechat_openid": "oWx_****FgHi",
        "preferences": {"sms": False, "wechat": True},
        "updated_at": shown.json()["updated_at"],
    }

    claim_id = gateway.signed(BILLS, bill(id_number), hospital["secret"]).json()["claim_id"]
    decided(gateway, claim_id)
    inbox_after(gateway, id_number)  # the inbox is silent: it has the message at once

    def wechat():
        return next((d for d in deliveries(gateway, claim_id) if d["channel"] == "wechat"), None)

    row = wait_until(wechat, lambda r: r is not None, what="the WeChat message planned")
    assert row["status"] == "deferred"
    assert [h["status"] for h in row["history"]] == ["deferred"]
    assert "sms" not in {d["channel"] for d in deliveries(gateway, claim_id)}

    clock.write_text((night + timedelta(hours=8, minutes=59)).isoformat(), encoding="utf-8")
    # 07:59: still deferred (the timer ticks every second; it has nothing due).
    wait_until_broker_idle(stack.env["AMQP_URI"])
    assert wechat()["status"] == "deferred"
    clock.write_text((night + timedelta(hours=9)).isoformat(), encoding="utf-8")
    row = wait_until(
        wechat, lambda r: r["status"] == "sent", what="the WeChat message sent at 08:00"
    )
    assert [h["status"] for h in row["history"]] == ["deferred", "sent"]
    assert row["history"][-1]["at"].endswith("T08:00:00.000+08:00")

    # The worker reads their inbox on the city portal and marks the message read.
    own = signed(gateway, portal, CITY_INBOX, {"id_number": id_number})
    assert own.status_code == 200, own.text
    (message,) = own.json()["messages"]
    assert message["ref"] == claim_id and message["read"] is False
    assert "660.00" in message["text"]  # the amount in the inbox only
    read = signed(
        gateway, portal, f"/api/v1/city/inbox/{message['id']}/read", {"id_number": id_number}
    )
    assert read.status_code == 204, read.text
    again = signed(gateway, portal, CITY_INBOX, {"id_number": id_number})
    assert again.json()["messages"][0]["read"] is True
    # Another worker's message is not found for this one.
    other = signed(
        gateway, portal, f"/api/v1/city/inbox/{message['id']}/read", {"id_number": new_id_number()}
    )
    assert other.status_code == 404, other.text
    unsigned = gateway.http.post(gateway.base_url + CITY_INBOX, json={"id_number": id_number})
    assert unsigned.status_code == 401

    # Staff figures for the day count it.
    day = (night + timedelta(hours=9)).date().isoformat()
    stats = gateway.staff(
        "GET", "/api/v1/notifications/stats", params={"from": night.date().isoformat(), "to": day}
    )
    assert stats.status_code == 200, stats.text
    rows = {(r["event_type"], r["channel"], r["status"]): r["count"] for r in stats.json()["rows"]}
    assert rows[("claim_decided", "wechat", "sent")] >= 1
    assert rows[("claim_decided", "inbox", "sent")] >= 1


def test_portal_inbox_badly_signed_is_401_and_an_unknown_worker_404(gateway, portal):
    forger = {**portal, "secret": "whsec_" + "A" * 32}
    assert signed(gateway, forger, CITY_INBOX, {"id_number": new_id_number()}).status_code == 401
    assert signed(gateway, portal, CITY_INBOX, {"id_number": new_id_number()}).status_code == 404
    bad = signed(gateway, portal, CITY_CONTACTS, {"id_number": new_id_number(), "mobile": "12345"})
    assert bad.status_code == 400 and "mobile" in bad.json()["error"]["fields"]
