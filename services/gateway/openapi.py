"""The OpenAPI 3 document, generated from the route table and the marshmallow schemas."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from services.gateway.http import ROUTES
from services.gateway.schemas import ErrorSchema

_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
_ERROR_STATUSES = {"staff": (400, 401, 403, 404, 503), "webhook": (400, 401, 413, 503), "none": ()}


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
        path = _CONVERTER.sub(r"{\1}", route.path)
        operation: dict = {"summary": route.summary, "responses": {}}
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _CONVERTER.findall(route.path)
        ]
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
            if isinstance(schema, str):
                operation["responses"][str(status)] = {"description": schema}
            else:
                operation["responses"][str(status)] = {
                    "description": schema.__doc__ or "OK",
                    "content": {"application/json": {"schema": schema}},
                }
        for status in _ERROR_STATUSES[route.auth]:
            operation["responses"].setdefault(
                str(status),
                {"description": "Error", "content": {"application/json": {"schema": "Error"}}},
            )
        paths.setdefault(path, {})[route.method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
