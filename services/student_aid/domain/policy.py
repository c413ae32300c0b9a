"""The student-aid policy: one checked version of the award table, window and notice, in fen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from marshmallow import ValidationError, fields, validates, validates_schema

from shared.contracts.student_aid import EDUCATION_LEVELS
from shared.policy import (
    PolicyDocument,
    PolicySchema,
    Table,
    Text,
    WholeNumber,
    Yuan,
    versioned_schema,
)

SERVICE = "student_aid"

# The levels are part of the HTTP contract (API.md), so a policy prices each and invents none.


@dataclass(frozen=True)
class StudentAidPolicy:
    """One version of the student-aid rules. Amounts are fen."""

    version: str
    effective_from: date
    digest: str
    amount_by_level: Mapping[str, int]
    window_opens: tuple[int, int]  # (month, day)
    window_closes: tuple[int, int]
    notice_working_days: int

    @classmethod
    def from_document(cls, document: PolicyDocument) -> StudentAidPolicy:
        """Check a policy document; any problem is a PolicyError naming file and key path."""
        data = document.load(StudentAidPolicySchema())
        window = data["application_window"]
        return cls(
            version=document.version,
            effective_from=document.effective_from,
            digest=document.digest,
            amount_by_level=MappingProxyType(
                {level: data["amount_yuan_by_level"][level] for level in EDUCATION_LEVELS}
            ),
            window_opens=(window["opens"]["month"], window["opens"]["day"]),
            window_closes=(window["closes"]["month"], window["closes"]["day"]),
            notice_working_days=data["notice_working_days"],
        )

    def amount(self, education_level: str) -> int:
        """The award in fen for a student at ``education_level``."""
        try:
            return self.amount_by_level[education_level]
        except KeyError:
            raise LookupError(
                f"education level {education_level!r} is not in policy {self.version} "
                f"(levels: {', '.join(self.amount_by_level)})"
            ) from None

    def default_window(self, year: int) -> tuple[date, date]:
        """First and last day (inclusive) of a ``year`` campaign that sets no window of its own."""
        return date(year, *self.window_opens), date(year, *self.window_closes)


# --- the schema of a student-aid policy file -----------------------------------------------------


class MonthDaySchema(PolicySchema):
    month = WholeNumber(minimum=1, maximum=12, required=True)
    day = WholeNumber(minimum=1, maximum=31, required=True)

    @validates_schema
    def a_date_every_year(self, data: dict, **kwargs) -> None:
        try:
            # A non-leap year: 29 February would vanish three years in four.
            date(2001, data["month"], data["day"])
        except ValueError:
            raise ValidationError(
                f"{data['month']:02d}-{data['day']:02d} is not a date every year", "day"
            ) from None


class WindowSchema(PolicySchema):
    opens = fields.Nested(MonthDaySchema, required=True)
    closes = fields.Nested(MonthDaySchema, required=True)

    @validates_schema
    def closes_after_opening(self, data: dict, **kwargs) -> None:
        opens, closes = data["opens"], data["closes"]
        if (closes["month"], closes["day"]) < (opens["month"], opens["day"]):
            raise ValidationError(
                f"must not come before opens ({opens['month']:02d}-{opens['day']:02d})", "closes"
            )


class StudentAidPolicySchema(versioned_schema(SERVICE)):
    notice_working_days = WholeNumber(minimum=1, maximum=30, required=True)
    amount_yuan_by_level = Table(keys=Text(choices=EDUCATION_LEVELS), values=Yuan(), required=True)
    application_window = fields.Nested(WindowSchema, required=True)

    @validates("amount_yuan_by_level")
    def every_level_priced(self, value: dict[str, int], data_key: str) -> None:
        # A level without an amount would leave its students with nothing to be awarded.
        missing = [level for level in EDUCATION_LEVELS if level not in value]
        if missing:
            raise ValidationError({missing[0]: ["is missing (every level needs an amount)"]})
        free = [level for level in EDUCATION_LEVELS if value[level] == 0]
        if free:
            raise ValidationError({free[0]: ["must be above 0"]})
