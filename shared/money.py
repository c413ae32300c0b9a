"""Money: integer fen inside, a two-decimal yuan string at the edge, half-up rounding."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from marshmallow import ValidationError, fields

# [0-9] and \Z, not \d and $: \d takes any Unicode digit (Decimal reads "1٢3" as 123), and $
# also matches just before a trailing newline.
_YUAN = re.compile(r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?\Z")
YUAN_PATTERN = _YUAN.pattern.replace("\\Z", "$")  # the same in JSON Schema's (ECMA) dialect


def parse_yuan(text: str) -> int:
    """Parse a yuan amount such as ``"1234.50"`` into fen. Rejects floats, signs and extra decimals."""
    if not isinstance(text, str) or not _YUAN.match(text):
        raise ValueError(
            'must be a non-negative yuan amount with at most two decimals, e.g. "1234.50"'
        )
    return int(Decimal(text) * 100)


def format_fen(fen: int) -> str:
    """Render fen as a yuan string with exactly two decimals."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole}.{cents:02d}"


def apply_ratio(fen: int, ratio: Decimal) -> int:
    """Multiply an amount in fen by a ratio and round half-up to the fen, once."""
    return int((Decimal(fen) * Decimal(ratio)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def yuan_to_fen(yuan: int | str | Decimal) -> int:
    """Convert a whole or decimal yuan figure from policy configuration into fen."""
    return int((Decimal(str(yuan)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Money(fields.Field):
    """Marshmallow field: ``"1234.50"`` at the edge, integer fen inside."""

    default_error_messages = {
        "invalid": 'must be a non-negative yuan amount with at most two decimals, e.g. "1234.50"'
    }

    def __init__(self, **kwargs):
        # What the OpenAPI document states (apispec reads metadata): a string shaped like _YUAN.
        published = {"type": "string", "pattern": YUAN_PATTERN, "example": "1234.50"}
        super().__init__(**{**kwargs, "metadata": {**published, **kwargs.get("metadata", {})}})

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_fen(value)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_yuan(value)
        except ValueError as exc:
            raise self.make_error("invalid") from exc


__all__ = ["Money", "ValidationError", "apply_ratio", "format_fen", "parse_yuan", "yuan_to_fen"]
