"""The gateway stays up under abuse (issue 7, point 8): rate limits, slow clients, enumeration,
hostile bodies and headers. Over HTTP and raw sockets only."""

from __future__ import annotations

import http.client
import json
import socket
import time
import uuid

import pytest
from limits import parse as parse_rate_limit

from scripts.devstack import free_port
from shared.config import Settings
from shared.webhooks import sign_webhook
from tests.e2e.test_bill_to_notice import BILLS, bill
from tests.support.client import new_id_number
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

CLIENT_TIMEOUT = 1.0
WRONG_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"


@pytest.fixture(scope="module")
def strict(stack, hospital):
    """A second gateway on the same services with the default rate limits (the suite's own
    gateway is lenient), a one-second client timeout, and one trusted proxy in front (a
    request without X-Forwarded-For is the TCP peer's). Its port."""
    port = free_port()
    stack.start_service(
        "gateway",
        {
            "GATEWAY_PORT": str(port),
            "RATE_LIMIT_FAILURES": Settings.rate_limit_failures,
            "RATE_LIMIT_REQUESTS": Settings.rate_limit_requests,
            "GATEWAY_CLIENT_TIMEOUT_SECONDS": str(CLIENT_TIMEOUT),
            "GATEWAY_TRUSTED_PROXIES": "1",
        },
        instance="gateway-strict",
    )
    try:
        wait_until(lambda: _alive(port), timeout=30, what=f"the strict gateway on port {port}")
        yield port
    finally:
        stack.stop_service("gateway-strict")


@pytest.fixture
def new_hospital(gateway):
    """A level-3 hospital of this test's own (rate limits count per partner): its bills path
    and secret."""
    code = "R" + uuid.uuid4().hex[:8].upper()
    response = gateway.staff(
        "POST", "/api/v1/partners", {"code": code, "kind": "hospital", "name": code, "level": 3}
    )
    assert response.status_code == 201, response.text
    return f"/api/v1/hospitals/{code}/discharge-bills", response.json()["secret"]


def _alive(port: int) -> bool:
    try:
        return post(port, "/alive", method="GET")[0] == 200
    except OSError:
        return False


def post(port, path, data=b"", headers=None, *, source="127.0.0.1", method="POST"):
    """One request from the loopback address ``source``: (status, headers, JSON body)."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=15, source_address=(source, 0)
    )
    try:
        connection.request(method, path, body=data, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return response.status, response.headers, json.loads(body) if body else None
    finally:
        connection.close()


def signed_headers(secret: str, data: bytes, timestamp: int | None = None) -> dict:
    webhook_id = f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_webhook(secret, webhook_id, timestamp, data),
        "content-type": "application/json",
    }


def a_bill() -> bytes:
    return json.dumps(bill(new_id_number())).encode()


def test_failed_signatures_past_the_rate_are_429_with_retry_after_while_signed_bills_pass(
    strict, new_hospital
):
    bills, secret = new_hospital
    allowed = parse_rate_limit(Settings.rate_limit_failures).amount
    data = a_bill()
    answers = [
        post(strict, bills, data, signed_headers(WRONG_SECRET, data), source="127.0.0.2")
        for _ in range(allowed + 1)
    ]
    assert [status for status, _, _ in answers] == [401] * allowed + [429]
    _, headers, body = answers[-1]
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert body["error"]["code"] == "rate_limited"

    good = a_bill()
    status, _, body = post(strict, bills, good, signed_headers(secret, good), source="127.0.0.2")
    assert status == 202, body


def test_failed_signatures_for_one_partner_are_limited_across_addresses(strict, new_hospital):
    """Per partner: twenty-one addresses with one bad signature each for the same hospital."""
    bills, secret = new_hospital
    data = a_bill()
    statuses = [
        post(strict, bills, data, signed_headers(WRONG_SECRET, data), source=f"127.0.1.{n}")[0]
        for n in range(1, 22)
    ]
    assert statuses == [401] * 20 + [429]
    good = a_bill()
    status, _, _ = post(strict, bills, good, signed_headers(secret, good))
    assert status == 202


def test_bad_staff_tokens_past_the_rate_are_429(strict):
    statuses = [
        post(
            strict,
            "/api/v1/mutual-aid/review-queue",
            method="GET",
            headers={"Authorization": "Bearer abc.def.ghi"},
            source="127.0.0.3",
        )[0]
        for _ in range(21)
    ]
    assert statuses == [401] * 20 + [429]


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(strict):
    """The address the proxy appended counts, not the proxy's, nor what the client wrote."""

    def failure(client: str) -> int:
        forwarded = {"X-Forwarded-For": f"203.0.113.9, {client}"}  # the first: the client's say
        headers = {"Authorization": "Bearer abc.def.ghi", **forwarded}
        path = "/api/v1/mutual-aid/review-queue"
        return post(strict, path, method="GET", headers=headers, source="127.0.0.4")[0]

    assert [failure("198.51.100.1") for _ in range(21)] == [401] * 20 + [429]
    assert failure("198.51.100.2") == 401


def test_unknown_partner_and_bad_signature_get_the_same_401(gateway, hospital):
    port = int(gateway.base_url.rsplit(":", 1)[1])
    data = a_bill()
    answers = {
        code: post(
            port,
            f"/api/v1/hospitals/{code}/discharge-bills",
            data,
            signed_headers(WRONG_SECRET, data),
        )
        for code in ("H0001", "H9999", "h0001", "H" * 17, "H%EF%BC%90001", "H0001%0A")
    }
    assert {(status, json.dumps(body)) for status, _, body in answers.values()} == {
        (401, json.dumps(answers["H0001"][2]))
    }, answers


def test_headers_and_timestamp_are_checked_before_the_body_is_read(gateway, hospital):
    """A stale timestamp is answered while the announced body has not been sent at all."""
    port = int(gateway.base_url.rsplit(":", 1)[1])
    headers = signed_headers(hospital["secret"], b"{}", timestamp=int(time.time()) - 3600)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            f"POST {BILLS} HTTP/1.1\r\nHost: x\r\n{head}Content-Length: 100000\r\n\r\n".encode()
        )
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 401"), answer
    assert "timestamp_too_old" in answer


def test_slow_client_is_cut_off(strict):
    """Half a request, then silence: the gateway closes the connection after its timeout."""
    with socket.create_connection(("127.0.0.1", strict), timeout=10) as sock:
        sock.sendall(b"POST " + BILLS.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Le")
        started = time.monotonic()
        assert sock.recv(4096) == b""
    assert time.monotonic() - started < CLIENT_TIMEOUT + 3


def test_trickled_headers_are_cut_off(strict):
    """A byte every 0.3 s never trips a per-read timeout; the headers' deadline cuts it."""
    request = b"GET /alive HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200
    with socket.create_connection(("127.0.0.1", strict), timeout=10) as sock:
        started = time.monotonic()
        with pytest.raises(OSError):  # the gateway hangs up: a broken pipe or a reset
            for byte in request:
                sock.sendall(bytes([byte]))
                time.sleep(0.3)  # the slow client under test, not a wait for a result
    assert time.monotonic() - started < 2 * CLIENT_TIMEOUT + 3


def test_trickled_unread_body_is_cut_off(strict, hospital):
    """Answered 401 before its body was read, a client that trickles the body anyway is cut
    off at the deadline instead of holding the connection for the declared length."""
    headers = signed_headers(hospital["secret"], b"{}", timestamp=int(time.time()) - 3600)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection(("127.0.0.1", strict), timeout=10) as sock:
        sock.sendall(
            f"POST {BILLS} HTTP/1.1\r\nHost: x\r\n{head}Content-Length: 100000\r\n\r\n".encode()
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 401")
        started = time.monotonic()
        with pytest.raises(OSError):
            for _ in range(30):  # 9 s: well past the deadline
                sock.sendall(b"a")
                time.sleep(0.3)  # the slow client under test
    assert time.monotonic() - started < CLIENT_TIMEOUT + 3


def test_trickled_body_is_408(strict, gateway):
    token = gateway.token()
    body = json.dumps({"id_number": new_id_number()}).encode()
    with socket.create_connection(("127.0.0.1", strict), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/notifications/inbox/query HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        sock.setblocking(False)
        answer = b""
        for byte in body:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.3)  # the slow client under test
            try:
                answer += sock.recv(4096)
            except BlockingIOError:
                continue
            if answer:
                break
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b'"request_timeout"' in answer


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"id_number": ' + b"[" * 100 + b"]" * 100 + b"}",
        b'{"id_number": ' + b"9" * 5_000 + b"}",
        b'{"id_number": 1e300}',
    ],
    ids=["10000-levels", "100-levels", "5000-digit-integer", "1e300"],
)
def test_hostile_json_is_400_never_500(gateway, raw):
    response = gateway.http.post(
        gateway.base_url + "/api/v1/notifications/inbox/query",
        data=raw,
        headers={
            "Authorization": f"Bearer {gateway.token()}",
            "Content-Type": "application/json",
        },
        timeout=15,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_json"


def test_integer_beyond_64_bits_is_400_not_a_database_error(gateway):
    """marshmallow takes 10**30 as a period; MongoDB could not store it (a 500 before)."""
    body = {
        "period": 10**30,
        "employer_org": "LY-XL-0042",
        "plan": "A",
        "members": [{"id_number": new_id_number(), "name": "李四", "coverage_start": "2018-01-01"}],
    }
    response = gateway.staff("POST", "/api/v1/mutual-aid/enrollments", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_json"


def test_huge_integer_in_the_path_is_a_json_404(gateway):
    response = gateway.staff("GET", "/api/v1/assistance-funds/F/" + "9" * 5_000)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_request_line_over_8_kib_is_414_as_published(gateway):
    response = gateway.staff(
        "GET", "/api/v1/audit-log", role="auditor", params={"action": "字" * 3_000}
    )
    assert response.status_code == 414
    published = gateway.http.get(gateway.base_url + "/openapi.json").json()
    assert "414" in published["paths"]["/api/v1/audit-log"]["get"]["responses"]


@pytest.mark.parametrize("limit", ["abc", "-1", "0", "1001", "9" * 5_000, "²", "1.5", ""])
def test_bad_limit_is_400_naming_limit(gateway, limit):
    response = gateway.staff("GET", "/api/v1/audit-log", role="auditor", params={"limit": limit})
    assert response.status_code == 400, response.text
    assert list(response.json()["error"]["fields"]) == ["limit"]


def test_good_limit_is_honoured(gateway):
    response = gateway.staff("GET", "/api/v1/audit-log", role="auditor", params={"limit": "2"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("request_id", ["a" * 129, "has space", "<script>", "é"])
def test_bad_request_id_is_400(gateway, request_id):
    response = gateway.http.get(
        gateway.base_url + "/alive",
        headers={"X-Request-Id": request_id.encode("utf-8")},
        timeout=15,
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["X-Request-Id"]
    assert response.headers["X-Request-Id"] != request_id


def test_good_request_id_is_echoed(gateway):
    request_id = "req-" + "a" * 124
    response = gateway.http.get(
        gateway.base_url + "/alive", headers={"X-Request-Id": request_id}, timeout=15
    )
    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == request_id
