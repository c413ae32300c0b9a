"""The gateway's error format (API.md "Conventions"): every failure is a JSON error body."""

import json

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge

from services.gateway.http import error_response
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
