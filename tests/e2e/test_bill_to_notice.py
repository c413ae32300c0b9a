"""A hospital bill from a signed POST to a worker's inbox, over HTTP only."""

from __future__ import annotations

import json
import signal
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from shared.events import SHANGHAI
from tests.support.client import new_id_number
from tests.support.waiting import wait_until, wait_until_broker_idle

pytestmark = pytest.mark.e2e

BILLS = "/api/v1/hospitals/H0001/discharge-bills"


def enrol(gateway, id_number: str, renewal_safe_start: str = "2018-01-01") -> None:
    response = gateway.staff(
        "POST",
        "/api/v1/mutual-aid/enrollments",
        {
            "period": 11,
            "employer_org": "LY-XL-0042",
            "plan": "A",
            "enrolled_on": "2017-11-20",
            "members": [
                {"id_number": id_number, "name": "张三明", "coverage_start": renewal_safe_start}
            ],
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["enrolled"] == 1


def bill(id_number: str, **overrides) -> dict:
    body = {
        "bill_no": f"ZY2018-{uuid.uuid4().hex[:10]}",
        "patient_id_number": id_number,
        "patient_name": "张三明",
        "hospital_level": 3,
        "admission_date": "2018-05-02",
        "discharge_date": "2018-05-09",
        "diagnoses": ["K80.1"],
        "total_cost": "12000.00",
        "fund_paid": "8000.00",
        "self_pay_in_catalogue": "3000.00",
        "self_pay_out_of_catalogue": "1000.00",
        "single_disease_code": None,
        "submitted_on": "2018-05-10",
        "flags": {"drunk_driving": False, "crime": False, "third_party_liable": False},
    }
    body.update(overrides)
    return body


def bind_mobile(gateway, id_number: str, mobile: str = "13800001234", **preferences) -> None:
    """The worker's mobile, stated by staff: SMS then reach them."""
    response = gateway.staff(
        "PUT",
        "/api/v1/notifications/contacts",
        {
            "id_number": id_number,
            "mobile": mobile,
            "wechat_openid": None,
            "preferences": {"sms": True, "wechat": True, **preferences},
        },
    )
    assert response.status_code == 204, response.text


def deliveries(gateway, ref: str) -> list[dict]:
    response = gateway.staff("GET", "/api/v1/notifications/deliveries", params={"ref": ref})
    return response.json()["deliveries"] if response.status_code == 200 else []


def channel_statuses(gateway, ref: str) -> list[tuple[str, str]]:
    return sorted((d["channel"], d["status"]) for d in deliveries(gateway, ref))


def claim(gateway, claim_id):
    return gateway.staff("GET", f"/api/v1/mutual-aid/claims/{claim_id}").json()


def decided(gateway, claim_id):
    return wait_until(
        lambda: claim(gateway, claim_id),
        # API.md: a claim may answer 404 for a moment after its 202 (no "status" yet).
        lambda c: c.get("status") not in (None, "received"),
        what=f"claim {claim_id} decided",
    )


def inbox(gateway, id_number):
    response = gateway.staff("POST", "/api/v1/notifications/inbox/query", {"id_number": id_number})
    if response.status_code == 404:  # no message for this worker (yet)
        return []
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def inbox_after(gateway, id_number, count=1):
    return wait_until(
        lambda: inbox(gateway, id_number),
        lambda m: len(m) >= count,
        what=f"{count} inbox notice(s)",
    )


@pytest.fixture
def daytime(stack):
    """The notifications service's test clock runs from noon today: quiet hours never defer
    the SMS this test waits for, whatever the hour it runs."""
    clock = Path(stack.env["NOTIFICATIONS_CLOCK_FILE"])
    noon = datetime.now(SHANGHAI).replace(hour=12, minute=0, second=0, microsecond=0)
    clock.write_text(f"{noon.isoformat()} running", encoding="utf-8")
    yield
    clock.write_text("", encoding="utf-8")


def test_signed_bill_is_accepted_decided_and_notified(gateway, hospital, daytime):
    id_number = new_id_number()
    enrol(gateway, id_number)
    bind_mobile(gateway, id_number)

    response = gateway.signed(BILLS, bill(id_number), hospital["secret"])

    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "received"
    decision = decided(gateway, accepted["claim_id"])
    # (3000 − 800 level-3 deductible) × 30 % plan A = 660.00
    assert decision["status"] == "approved"
    assert decision["amount"] == "660.00"
    assert decision["member_id_number_masked"] == id_number[:6] + "********" + id_number[-4:]
    assert decision["policy_version"] == "mutual_aid/2018-v1"
    assert len(decision["trace"]) == 7
    messages = inbox_after(gateway, id_number)
    assert [m["ref"] for m in messages] == [accepted["claim_id"]]
    assert "660.00" in messages[0]["text"] and "K80" not in messages[0]["text"]
    wait_until(
        lambda: channel_statuses(gateway, accepted["claim_id"]),
        lambda rows: rows == [("inbox", "sent"), ("sms", "sent")],
        what="the inbox and the SMS sent",
    )


def test_bill_of_someone_not_enrolled_is_rejected_and_notified(gateway, hospital):
    id_number = new_id_number()
    response = gateway.signed(BILLS, bill(id_number), hospital["secret"])
    assert response.status_code == 202
    decision = decided(gateway, response.json()["claim_id"])
    assert (decision["status"], decision["reason_code"], decision["amount"]) == (
        "rejected",
        "not_enrolled",
        "0.00",
    )
    assert len(inbox_after(gateway, id_number)) == 1


def test_bad_signature_is_401_and_stores_nothing(gateway, hospital, stack):
    id_number = new_id_number()
    wrong_secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    response = gateway.signed(BILLS, bill(id_number), wrong_secret)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    wait_until_broker_idle(stack.env["AMQP_URI"])
    assert inbox(gateway, id_number) == []


def test_stale_timestamp_is_401(gateway, hospital):
    response = gateway.signed(
        BILLS, bill(new_id_number()), hospital["secret"], timestamp=int(time.time()) - 301
    )
    assert response.status_code == 401
    assert "timestamp" in response.json()["error"]["message"]


def test_replayed_webhook_id_gets_the_first_answer_and_no_second_effect(gateway, hospital, stack):
    id_number = new_id_number()
    enrol(gateway, id_number)
    body = bill(id_number)
    first = gateway.signed(BILLS, body, hospital["secret"], webhook_id="msg_replay_1")
    replay = gateway.signed(BILLS, body, hospital["secret"], webhook_id="msg_replay_1")
    assert first.status_code == replay.status_code == 202
    assert first.json() == replay.json()
    decided(gateway, first.json()["claim_id"])
    inbox_after(gateway, id_number)
    wait_until_broker_idle(stack.env["AMQP_URI"])
    assert len(inbox(gateway, id_number)) == 1


def test_malformed_body_is_400_naming_the_field(gateway, hospital):
    body = bill(new_id_number())
    del body["bill_no"]
    body["patient_id_number"] = "350802198001011235"  # wrong check digit
    body["total_cost"] = "12.345"
    response = gateway.signed(BILLS, body, hospital["secret"])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"bill_no", "patient_id_number", "total_cost"}
    assert "check" in error["fields"]["patient_id_number"][0]


def test_body_that_is_not_json_is_400(gateway, hospital):
    response = gateway.signed(BILLS, None, hospital["secret"], raw=b"{not json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_body_over_one_mebibyte_is_413(gateway, hospital):
    response = gateway.signed(
        BILLS, None, hospital["secret"], raw=b"{" + b" " * (1024 * 1024) + b"}"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_same_bill_twice_is_the_same_claim_and_one_notice(gateway, hospital, stack):
    id_number = new_id_number()
    enrol(gateway, id_number)
    body = bill(id_number)
    first = gateway.signed(BILLS, body, hospital["secret"])
    second = gateway.signed(BILLS, body, hospital["secret"])
    # API.md: the same bill_no again is answered 202 or 200 with the same claim_id (the gateway
    # queues bills without asking mutual_aid, so it answers 202 again).
    assert first.status_code == 202 and second.status_code in (200, 202)
    assert first.json()["claim_id"] == second.json()["claim_id"]
    decided(gateway, first.json()["claim_id"])
    inbox_after(gateway, id_number)
    wait_until_broker_idle(stack.env["AMQP_URI"])
    assert len(inbox(gateway, id_number)) == 1


def test_mutual_aid_killed_after_the_202_still_decides_and_notifies_once(gateway, hospital, stack):
    id_number = new_id_number()
    enrol(gateway, id_number)
    response = gateway.signed(BILLS, bill(id_number), hospital["secret"])
    assert response.status_code == 202
    stack.stop_service("mutual_aid", signal.SIGKILL)
    stack.start_service("mutual_aid")
    stack.wait_healthy()

    decision = decided(gateway, response.json()["claim_id"])

    assert decision["status"] == "approved"
    inbox_after(gateway, id_number)
    wait_until_broker_idle(stack.env["AMQP_URI"])
    assert len(inbox(gateway, id_number)) == 1


def test_an_sms_provider_down_then_back_sends_the_message_once(gateway, hospital, stack):
    """The SMS sink's own switch makes the provider fail for now; the service's clock is held
    (its test clock file) so the retry waits until the provider is back."""
    clock = Path(stack.env["NOTIFICATIONS_CLOCK_FILE"])
    clock.write_text(datetime.now(SHANGHAI).replace(hour=10).isoformat(), encoding="utf-8")
    try:
        stack.stop_service("notifications")
        stack.start_service("notifications", extra_env={"SMS_SINK_FAIL": "1"})
        stack.wait_healthy()
        id_number = new_id_number()
        enrol(gateway, id_number)
        bind_mobile(gateway, id_number, wechat=False)
        claim_id = gateway.signed(BILLS, bill(id_number), hospital["secret"]).json()["claim_id"]

        def sms_row():
            return next((d for d in deliveries(gateway, claim_id) if d["channel"] == "sms"), None)

        row = wait_until(
            sms_row,
            lambda r: (
                r is not None and [h["status"] for h in r["history"]][-2:] == ["failed", "queued"]
            ),
            what="the SMS failed and queued again",
        )
        assert "SMS_SINK_FAIL" in row["history"][-2]["detail"]

        stack.stop_service("notifications")  # the provider is back
        stack.start_service("notifications")
        stack.wait_healthy()
        clock.write_text(
            (datetime.now(SHANGHAI).replace(hour=10) + timedelta(minutes=1)).isoformat(),
            encoding="utf-8",
        )
        row = wait_until(sms_row, lambda r: r["status"] == "sent", what="the SMS sent by the retry")
        assert [h["status"] for h in row["history"]] == ["queued", "failed", "queued", "sent"]
        assert len(inbox(gateway, id_number)) == 1
    finally:
        clock.write_text("", encoding="utf-8")


def test_correlation_id_follows_the_bill_through_the_queue_and_events(gateway, hospital, stack):
    id_number = new_id_number()
    enrol(gateway, id_number)
    correlation_id = f"req-{uuid.uuid4().hex}"
    response = gateway.signed(
        BILLS, bill(id_number), hospital["secret"], headers={"X-Request-Id": correlation_id}
    )
    assert response.headers["X-Request-Id"] == correlation_id
    decided(gateway, response.json()["claim_id"])
    inbox_after(gateway, id_number)

    def logged(service):
        lines = (stack.log_dir / f"{service}.log").read_text(encoding="utf-8").splitlines()
        return [
            json.loads(line)["message"]
            for line in lines
            if line.startswith("{") and json.loads(line).get("correlation_id") == correlation_id
        ]

    # The gateway queues the bill (bill_submitted) under the request's id; mutual_aid decides it.
    assert "claim decided" in logged("mutual_aid")
    assert wait_until(lambda: logged("notifications"), what="the notifications log line") == [
        "notice delivered"
    ]
    assert id_number not in (stack.log_dir / "mutual_aid.log").read_text(encoding="utf-8")
