"""Errors that cross RPC and become the API's error body: one class, status and code chosen at the raise."""

from __future__ import annotations

import functools
import json
from typing import Any

from marshmallow import ValidationError
from nameko.exceptions import deserialize_to_instance

from shared.domain_errors import Conflict, DomainError

# How a service's door answers a domain error, by its nearest kind (API.md: 409 for the state
# of things, 422 for a business rule: RuleViolation and any other refusal).
DOMAIN_STATUS: dict[type[DomainError], int] = {Conflict: 409, DomainError: 422}


@deserialize_to_instance
class ApiError(Exception):
    """A failure the caller can act on. Survives a nameko RPC hop as itself (not RemoteError)."""

    def __init__(
        self,
        status: int | str,
        code: str,
        message: str,
        fields: dict | str | None = None,
        extra: dict | str | None = None,
    ) -> None:
        # nameko sends ``args`` through str() (safe_for_serialization) and rebuilds the error
        # with ``ApiError(*args)``: a 404 would come back as "404" and no fields as "None".
        # So the args are strings that read back as what was raised: the status as digits,
        # the fields (and ``extra``) as JSON text.
        if isinstance(fields, str):
            fields = json.loads(fields)
        if isinstance(extra, str):
            extra = json.loads(extra)
        self.status = int(status)
        self.code = code
        self.message = message
        self.fields = fields
        # Keys API.md adds to an error beside code and message (the 409 naming the existing
        # employer: ``employer_id``); each is published in the gateway's ErrorDetailSchema.
        self.extra = extra or {}
        args = [
            str(self.status),
            code,
            message,
            json.dumps(fields, ensure_ascii=False, default=str),
        ]
        if self.extra:
            args.append(json.dumps(self.extra, ensure_ascii=False, default=str))
        super().__init__(*args)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        error.update(self.extra)
        return {"error": error}

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def validation_error(
    fields: dict[str, Any], message: str = "The request body is invalid."
) -> ApiError:
    return ApiError(400, "validation_error", message, fields)


def validated(schema, data: Any) -> Any:
    """``schema.load(data)``, or a 400 whose ``fields`` name what is wrong."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise validation_error(exc.messages) from None


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} was not found.")


def conflict(message: str, fields: dict[str, Any] | None = None) -> ApiError:
    return ApiError(409, "conflict", message, fields)


def rule_violation(message: str, fields: dict[str, Any] | None = None) -> ApiError:
    return ApiError(422, "rule_violation", message, fields)


def answer(error: DomainError) -> ApiError:
    """The ApiError a door raises for a domain error: its kind's status, its code, and the
    field at fault named with the message."""
    status = next(DOMAIN_STATUS[kind] for kind in type(error).__mro__ if kind in DOMAIN_STATUS)
    fields = {error.field: [error.message]} if error.field else None
    return ApiError(status, error.code, error.message, fields)


def answering(method):
    """A door's RPC method whose domain errors leave as their answer (``answer``), so the
    use cases it calls raise domain errors and never choose a status."""

    @functools.wraps(method)
    def door(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except DomainError as error:
            raise answer(error) from None

    return door
