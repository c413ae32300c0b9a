"""The OpenAPI 3 document, generated from the route table and the marshmallow schemas."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from services.gateway.http import ROUTES, Route
from services.gateway.schemas import ErrorSchema

_CONVERTER = re.compile(r"<(?:([a-z]+)(?:\(([^)]*)\))?:)?([a-z_]+)>")
_BOUND = re.compile(r"(min|max)=(\d+)")


def path_schema(converter: str, arguments: str) -> dict:
    """What a werkzeug converter accepts: ``int`` takes digits only, within its min and max."""
    if converter != "int":
        return {"type": "string"}
    bounds = {"minimum": 0} | {
        {"min": "minimum", "max": "maximum"}[key]: int(value)
        for key, value in _BOUND.findall(arguments)
    }
    return {"type": "integer", **bounds}


def error_content() -> dict:
    return {"application/json": {"schema": "Error"}}


def error_statuses(route: Route) -> set[int]:
    """The error statuses an endpoint can answer, each with the Error body."""
    # 400: a malformed body, query string or header; 429: too many requests from an address
    # (or failed authentications), on any endpoint.
    statuses = {400, 429}
    if route.auth == "staff":
        # 404 also answers a record outside the caller's org scope; 503 is a service past its
        # RPC deadline.
        statuses |= {401, 403, 404, 503}
    if route.auth == "webhook":
        statuses |= {401, 503}
    if route.request is not None:
        statuses |= {408, 413}  # a body that arrives too slowly, or is too large
    if route.auth != "none" and route.method == "POST":
        statuses |= {409, 422}  # a write can conflict with the current state or break a rule
    return statuses


def build_spec() -> dict:
    spec = APISpec(
        title="unionhub gateway",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "HTTP edge of the city federation of trade unions' back office."},
    )
    spec.components.security_scheme(
        "staff", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    spec.components.schema("Error", schema=ErrorSchema)
    paths: dict[str, dict] = {}
    for route in ROUTES:
        path = _CONVERTER.sub(r"{\3}", route.path)
        operation: dict = {"summary": route.summary, "responses": {}}
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": path_schema(converter, arguments),
            }
            for converter, arguments, name in _CONVERTER.findall(route.path)
        ]
        if route.query is not None:
            parameters.append({"in": "query", "schema": route.query})
        if route.auth == "webhook":
            parameters += [
                {"name": header, "in": "header", "required": True, "schema": {"type": "string"}}
                for header in ("webhook-id", "webhook-timestamp", "webhook-signature")
            ]
        if parameters:
            operation["parameters"] = parameters
        if route.auth == "staff":
            operation["security"] = [{"staff": []}]
        if route.request is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": route.request}},
            }
        for status, schema in route.responses.items():
            if schema == "text/csv":
                operation["responses"][str(status)] = {
                    "description": "CSV",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                }
            elif isinstance(schema, str):
                response = {"description": schema}
                if status >= 400:
                    response["content"] = error_content()
                operation["responses"][str(status)] = response
            else:
                operation["responses"][str(status)] = {
                    "description": schema.__doc__ or "OK",
                    "content": {"application/json": {"schema": schema}},
                }
        for status in sorted(error_statuses(route)):
            response = {"description": "Error", "content": error_content()}
            if status == 429:
                response["headers"] = {
                    "Retry-After": {
                        "description": "Seconds to wait before trying again.",
                        "schema": {"type": "integer"},
                    }
                }
            operation["responses"].setdefault(str(status), response)
        # The HTTP server itself answers a request line over 8 KiB (eventlet's limit) with 414
        # and no body, before any route sees it: a long query string can meet it anywhere.
        operation["responses"].setdefault("414", {"description": "Request line too long"})
        paths.setdefault(path, {})[route.method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
