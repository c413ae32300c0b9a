"""Errors a business rule raises: they say what was refused and which request field is at
fault, never an HTTP status (the service's door answers them, see ``shared.errors.answer``).
No imports: domain code stays free of frameworks."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused what was asked. ``field`` names the request field at fault (None when it
    is the state of things); ``code`` is the error code the answer carries."""

    code = "rule_violation"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Conflict(DomainError):
    """Not now: the state of things forbids it (decided already, someone else must act)."""

    code = "conflict"


class RuleViolation(DomainError):
    """Not ever, as asked: a business rule forbids it whatever the state."""

    code = "rule_violation"
