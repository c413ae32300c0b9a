"""The gateway's error format (API.md "Conventions"): every failure is a JSON error body, and
hostile input is a 400, never a 500."""

import json
from urllib.parse import urlencode

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.gateway.http import (
    MAX_JSON_DEPTH,
    PARTNER_HEADER,
    ApiHandler,
    error_response,
    read_json,
    read_query,
)
from services.gateway.throttle import RateLimited
from shared.contracts.dossiers import AuditLogQuerySchema
from shared.errors import ApiError


def body(response):
    return json.loads(response.get_data())


def test_api_error_keeps_its_status_code_and_fields():
    response = error_response(ApiError(400, "validation_error", "bad", {"bill_no": ["required"]}))
    assert response.status_code == 400
    assert body(response) == {
        "error": {"code": "validation_error", "message": "bad", "fields": {"bill_no": ["required"]}}
    }


@pytest.mark.parametrize(
    "exc, status, code",
    [
        (NotFound(), 404, "not_found"),
        (MethodNotAllowed(), 405, "method_not_allowed"),
        (RequestEntityTooLarge(), 413, "payload_too_large"),
    ],
)
def test_http_exceptions_become_json_errors(exc, status, code):
    response = error_response(exc)
    assert (response.status_code, body(response)["error"]["code"]) == (status, code)
    assert response.mimetype == "application/json"


def test_unexpected_exception_is_500_without_a_stack_trace():
    response = error_response(RuntimeError("secret detail from deep inside"))
    assert response.status_code == 500
    assert body(response) == {
        "error": {"code": "internal_error", "message": "Something went wrong on our side."}
    }


def json_request(data: bytes, query: str = ""):
    request = Request(EnvironBuilder(method="POST", data=data, query_string=query).get_environ())
    request.client_timeout = 5.0
    return request


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a": ' + b"[" * (MAX_JSON_DEPTH) + b"]" * (MAX_JSON_DEPTH) + b"}",
        b'{"period": ' + b"9" * 5_000 + b"}",
        b'{"period": -' + b"9" * 19 + b"}",
        b'{"period": 1e300}',
        b'{"period": 1e999}',
        b'{"period": NaN}',
        b'{"period": -Infinity}',
        b'{"name": "\xff"}',
    ],
    ids=[
        "10000-levels",
        "one-level-too-deep",
        "5000-digit-integer",
        "19-digit-integer",
        "1e300",
        "1e999",
        "NaN",
        "-Infinity",
        "not-utf-8",
    ],
)
def test_hostile_json_bodies_are_400(data):
    with pytest.raises(ApiError) as raised:
        read_json(json_request(data))
    assert (raised.value.status, raised.value.code) == (400, "invalid_json")


def test_json_numbers_in_range_are_read():
    body = read_json(json_request(b'{"a": -999999999999999999, "b": 9007199254740992.0}'))
    assert body == {"a": -999_999_999_999_999_999, "b": 2.0**53}


def test_json_at_the_depth_limit_is_read():
    nested = b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1)
    assert read_json(json_request(b'{"a": ' + nested + b"}"))["a"] is not None


@pytest.mark.parametrize("limit", ["abc", "-1", "0", "1001", "9" * 5_000, "²", "1.5", ""])
def test_bad_audit_log_limit_is_400_naming_limit(limit):
    with pytest.raises(ApiError) as raised:
        read_query(json_request(b"", urlencode({"limit": limit})), AuditLogQuerySchema)
    assert raised.value.status == 400 and list(raised.value.fields) == ["limit"]


def test_audit_log_limit_absent_or_in_range_is_read():
    assert read_query(json_request(b""), AuditLogQuerySchema) == {}
    query = json_request(b"", "limit=1000&action=export")
    assert read_query(query, AuditLogQuerySchema) == {"limit": 1000, "action": "export"}


def test_rate_limited_answer_carries_retry_after():
    response = error_response(RateLimited(7, "Too many."))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert body(response)["error"]["code"] == "rate_limited"


def test_a_signed_route_without_a_path_code_names_its_partner_in_the_header():
    request = Request(
        EnvironBuilder(method="POST", path="/x", headers={PARTNER_HEADER: "ELONGYAN"}).get_environ()
    )

    assert ApiHandler("POST", "/x", signed=True).partner_code(request) == "ELONGYAN"
    # A staff route names no partner, whatever its headers say: nothing counts against one.
    assert ApiHandler("POST", "/x").partner_code(request) is None


def test_a_path_that_exists_for_no_method_is_404_not_405():
    from werkzeug.routing import Map, Rule
    from werkzeug.test import EnvironBuilder

    from services.gateway.http import JsonWsgiApp

    app = JsonWsgiApp.__new__(JsonWsgiApp)
    app.url_map = Map(
        [
            Rule("/campaigns/<int(min=2000, max=2100):year>", methods=["GET"], endpoint="get"),
            Rule("/campaigns/<int(min=2000, max=2100):year>", methods=["PATCH"], endpoint="set"),
        ]
    )
    statuses = []

    def start_response(status, headers):
        statuses.append(status)

    for method, path in (("PATCH", "/campaigns/22739"), ("POST", "/campaigns/2018")):
        environ = EnvironBuilder(path=path, method=method).get_environ()
        app(environ, start_response)
    assert [s.split()[0] for s in statuses] == ["404", "405"]
