"""The gateway's HTTP entrypoint: JSON errors in the API.md format, a 1 MiB body limit,
a correlation id per request, and route metadata that the OpenAPI document is built from."""

from __future__ import annotations

import functools
import json
import logging
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from eventlet.event import Event
from marshmallow import Schema
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from shared.errors import ApiError, validated

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
REQUEST_ID_HEADER = "X-Request-Id"

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def json_response(status: int, body: Any, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        mimetype="application/json",
        headers=headers or {},
    )


def error_response(exc: Exception) -> Response:
    if isinstance(exc, ApiError):
        return json_response(exc.status, exc.body())
    if isinstance(exc, RequestEntityTooLarge):
        return json_response(
            413, ApiError(413, "payload_too_large", "The body is over 1 MiB.").body()
        )
    if isinstance(exc, HTTPException):
        code = _HTTP_CODES.get(exc.code, "http_error")
        return json_response(exc.code, ApiError(exc.code, code, exc.description or code).body())
    log.error("unhandled error in the gateway", exc_info=(type(exc), exc, exc.__traceback__))
    return json_response(
        500, ApiError(500, "internal_error", "Something went wrong on our side.").body()
    )


@dataclass(frozen=True)
class Route:
    """What the OpenAPI document says of one endpoint."""

    method: str
    path: str
    summary: str
    auth: str  # "staff", "webhook" or "none"
    request: type[Schema] | None = None
    responses: dict[int, type[Schema] | str] = field(default_factory=dict)
    query: type[Schema] | None = None


ROUTES: list[Route] = []


class JsonWsgiApp(WsgiApp):
    """Unknown paths and wrong methods answer in the API's JSON error format too."""

    def __call__(self, environ, start_response):
        adapter = self.url_map.bind_to_environ(environ)
        try:
            adapter.match()
        except HTTPException as exc:
            return error_response(exc)(environ, start_response)
        return super().__call__(environ, start_response)


class JsonWebServer(WebServer):
    def get_wsgi_app(self):
        return JsonWsgiApp(self)


class ApiHandler(HttpRequestHandler):
    server = JsonWebServer()

    def handle_request(self, request):
        request.shallow = False
        request.max_content_length = MAX_BODY_BYTES
        correlation_id = request.headers.get(REQUEST_ID_HEADER) or str(uuid.uuid4())
        try:
            if (request.content_length or 0) > MAX_BODY_BYTES:
                raise RequestEntityTooLarge()
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            done = Event()
            self.container.spawn_worker(
                self,
                args,
                kwargs,
                context_data={"correlation_id": correlation_id},
                handle_result=partial(self.handle_result, done),
            )
            response = self.response_from_result(done.wait())
        except Exception as exc:  # noqa: BLE001 - every failure becomes a JSON error body
            response = error_response(exc)
        response.headers[REQUEST_ID_HEADER] = correlation_id
        return response


def api(
    method: str,
    path: str,
    *,
    summary: str,
    auth: str = "staff",
    request: type[Schema] | None = None,
    responses: dict | None = None,
    query: type[Schema] | None = None,
):
    """Declare an endpoint: the nameko HTTP entrypoint plus what OpenAPI says about it.
    ``path`` uses werkzeug converters (``<claim_id>``); ``query`` is the schema of the query
    string (read it with ``read_query``)."""
    ROUTES.append(Route(method, path, summary, auth, request, responses or {}, query))
    register = ApiHandler.decorator(method, path)

    def decorate(handler):
        @functools.wraps(handler)
        def answer_client_errors(self, request, *args, **kwargs):
            # A caller's mistake is an answer, not a failure of the worker: nameko would log
            # it as an error with a traceback.
            try:
                return handler(self, request, *args, **kwargs)
            except ApiError as exc:
                return error_response(exc)

        return register(answer_client_errors)

    return decorate


def read_json(request) -> dict:
    """The request body as a JSON object, or a 400 naming what is wrong."""
    data = request.get_data(cache=True)
    try:
        body = json.loads(data or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return body


def read_query(request, schema: type[Schema]) -> dict:
    """The query string loaded with ``schema`` (what OpenAPI publishes), or a 400 naming it."""
    return validated(schema(), request.args.to_dict())
