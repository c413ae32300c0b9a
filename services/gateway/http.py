"""The gateway's HTTP entrypoint: JSON errors in the API.md format, a 1 MiB body limit,
rate limits, client timeouts, a correlation id per request, and route metadata that the
OpenAPI document is built from."""

from __future__ import annotations

import functools
import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import eventlet
from eventlet.event import Event
from marshmallow import Schema
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from services.gateway.schemas import is_partner_code
from services.gateway.throttle import RateLimited, Throttle
from shared.errors import ApiError, validated, validation_error
from shared.providers import settings_of

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# Our bodies nest three levels at most; a deeper one is an attack on the parser and on every
# recursive step after it (marshmallow, the RPC serializer), which would fail as a 500.
MAX_JSON_DEPTH = 32
MAX_JSON_INT_DIGITS = 18  # below 2**63
MAX_JSON_FLOAT = 2.0**53  # every integer-valued float up to here converts exactly
REQUEST_ID_HEADER = "X-Request-Id"
# A signed route shared by every partner of a kind (the city platform's) names the partner here.
PARTNER_HEADER = "X-Partner-Code"
# Signed routes of every city platform: the partner is named in PARTNER_HEADER, or found.
CITY_PREFIX = "/api/v1/city/"
# The correlation id lands in every log line and message header: short, and nothing to inject.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}", re.ASCII)

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


def csv_attachment(text: str, filename: str) -> Response:
    """A CSV file for the browser to save (a bank file, a notice, an export)."""
    return Response(
        text,
        status=200,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def error_response(exc: Exception) -> Response:
    if isinstance(exc, RateLimited):
        return json_response(429, exc.body(), {"Retry-After": str(exc.retry_after)})
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
        except MethodNotAllowed as exc:
            # werkzeug counts a rule's methods before its converters run: a path that exists
            # for no method (a year out of range) must be a 404, not a 405.
            if not any(_path_exists(adapter, method) for method in exc.valid_methods or ()):
                exc = NotFound()
            return error_response(exc)(environ, start_response)
        except HTTPException as exc:
            return error_response(exc)(environ, start_response)
        except ValueError:  # an <int:...> of more digits than int() parses: no such resource
            return error_response(NotFound())(environ, start_response)
        return super().__call__(environ, start_response)


def _path_exists(adapter, method: str) -> bool:
    try:
        adapter.match(method=method)
    except (HTTPException, ValueError):
        return False
    return True


class DeadlineProtocol(HttpOnlyProtocol):
    """The request line, the headers, and a body left unread must each arrive within the
    client timeout: the per-read socket timeout alone lets a client trickle one byte at a time
    for ever. (A body a route reads has the same deadline: ``read_body``.)"""

    def get_environ(self):
        environ = super().get_environ()
        body = environ["eventlet.input"]
        discard = body.discard

        def discard_within_deadline(*args):
            # eventlet drops a body left unread after an early answer (401, 413, 429) before
            # the next request on the connection; on OSError it closes the connection instead.
            timeout = OSError("the unread body did not arrive in time")
            with eventlet.Timeout(self.server.socket_timeout, timeout):
                discard(*args)

        body.discard = discard_within_deadline
        return environ

    def _read_request_line(self):
        with eventlet.Timeout(self.server.socket_timeout, False):
            return super()._read_request_line()
        return ""  # eventlet closes the connection

    def parse_request(self):
        with eventlet.Timeout(self.server.socket_timeout, False):
            return super().parse_request()
        self.close_connection = True
        return False


class JsonWebServer(WebServer):
    """One per gateway process: its rate limits, the client timeout on every socket, and who
    the client is behind trusted proxies."""

    def setup(self):
        super().setup()
        settings = settings_of(self.container)
        self.throttle = Throttle(settings)
        self.client_timeout = settings.client_timeout_seconds
        self.trusted_proxies = settings.gateway_trusted_proxies

    def get_wsgi_server(self, sock, wsgi_app, protocol=DeadlineProtocol, debug=False):
        server = super().get_wsgi_server(sock, wsgi_app, protocol, debug)
        server.socket_timeout = self.client_timeout  # each read; nameko sets it on accept
        return server

    def get_wsgi_app(self):
        app = JsonWsgiApp(self)
        if not self.trusted_proxies:
            return app
        # The client address that rate limits count by is then the one the nearest trusted
        # proxy appended to X-Forwarded-For; entries before it are only the client's say.
        return ProxyFix(app, x_for=self.trusted_proxies)


class ApiHandler(HttpRequestHandler):
    server = JsonWebServer()

    def __init__(
        self, method, url, partner_param: str | None = None, signed: bool = False, **kwargs
    ):
        super().__init__(method, url, **kwargs)
        self.partner_param = partner_param  # the path parameter naming a signed route's partner
        self.signed = signed

    def partner_code(self, request) -> str | None:
        """The partner a signed request names: in its path, or (a route shared by every partner
        of a kind, like the city platform's) in the PARTNER_HEADER."""
        if not self.signed:
            return None
        if self.partner_param:
            return request.path_values.get(self.partner_param)
        return request.headers.get(PARTNER_HEADER)

    def handle_request(self, request):
        request.shallow = False
        request.max_content_length = MAX_BODY_BYTES
        request.client_timeout = self.server.client_timeout
        throttle = self.server.throttle
        address = request.remote_addr or "unknown"
        code = self.partner_code(request)
        partner = code if code is not None and is_partner_code(code) else None
        given_id = request.headers.get(REQUEST_ID_HEADER)
        correlation_id = str(uuid.uuid4())
        try:
            throttle.admit(address, partner)
            if given_id and not _REQUEST_ID.fullmatch(given_id):
                raise validation_error(
                    {REQUEST_ID_HEADER: ["at most 128 of A-Z a-z 0-9 . _ : -"]},
                    f"The {REQUEST_ID_HEADER} header is invalid.",
                )
            correlation_id = given_id or correlation_id
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
        if response.status_code == 401:
            limited = throttle.failed(address, partner)
            if limited is not None:
                response = error_response(limited)
        elif partner is not None and response.status_code < 400:
            throttle.answered(partner)
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
    string (read it with ``read_query``); a signed (``webhook``) route names its partner in
    its one path parameter, or when it has none in the PARTNER_HEADER."""
    ROUTES.append(Route(method, path, summary, auth, request, responses or {}, query))
    signed = auth == "webhook"
    partner_param = None
    # The city platform's routes are shared by every city platform: a path parameter there
    # (an inbox message id) never names the partner.
    if signed and not path.startswith(CITY_PREFIX):
        (partner_param,) = re.findall(r"<(?:\w+:)?(\w+)>", path) or (None,)
    register = ApiHandler.decorator(method, path, partner_param=partner_param, signed=signed)

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


def read_body(request) -> bytes:
    """The raw body, read only when a route asks (after the caller's credentials) and within
    the client timeout as a whole: a client that trickles its body is answered 408."""
    try:
        with eventlet.Timeout(request.client_timeout):
            return request.get_data(cache=True)
    except (eventlet.Timeout, OSError):
        raise ApiError(408, "request_timeout", "The request body did not arrive in time.") from None


def read_json(request) -> dict:
    """The request body as a JSON object, or a 400 naming what is wrong."""
    data = read_body(request)
    try:
        body = json.loads(
            data or b"null",
            parse_int=_json_int,
            parse_float=_json_float,
            parse_constant=_json_constant,
        )
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:  # bad JSON or UTF-8, or a number out of range
        raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}") from None
    if _nests_deeper_than(body, MAX_JSON_DEPTH):
        raise _too_deep()
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return body


def read_query(request, schema: type[Schema]) -> dict:
    """The query string loaded with ``schema`` (what OpenAPI publishes), or a 400 naming it."""
    return validated(schema(), request.args.to_dict())


def _json_int(digits: str) -> int:
    # No field of ours holds an integer beyond 64 bits (money travels as a string) and MongoDB
    # stores none: refused before int() spends time on thousands of digits.
    if len(digits.lstrip("-")) > MAX_JSON_INT_DIGITS:
        raise ValueError(f"an integer of {len(digits)} characters is out of range")
    return int(digits)


def _json_float(text: str) -> float:
    value = float(text)
    if not abs(value) <= MAX_JSON_FLOAT:  # also inf, from 1e999
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def _json_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _too_deep() -> ApiError:
    return ApiError(400, "invalid_json", f"The body nests deeper than {MAX_JSON_DEPTH} levels.")


def _nests_deeper_than(value: Any, limit: int) -> bool:
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return False
