"""Errors that cross RPC and become the API's error body: one class, status and code chosen at the raise."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError
from nameko.exceptions import deserialize_to_instance


@deserialize_to_instance
class ApiError(Exception):
    """A failure the caller can act on. Survives a nameko RPC hop as itself (not RemoteError)."""

    def __init__(
        self, status: int, code: str, message: str, fields: dict[str, Any] | None = None
    ) -> None:
        super().__init__(status, code, message, fields)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
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
