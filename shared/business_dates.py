"""Business dates a caller may state (``enrolled_on``, ``granted_on``, ``intake_date`` ...): the
day we receive the request unless a role, and the audit log, allow an earlier one (API.md
"Conventions")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.auth import may
from shared.contracts.roles import ROLES_OF
from shared.errors import ApiError, rule_violation
from shared.events import today_shanghai


@dataclass(frozen=True)
class BusinessDate:
    day: date
    received_on: date
    # A past date allowed by the caller's role alone: the caller writes it to the audit log.
    backdated_by_role: bool = False

    def audit_detail(self, field: str) -> dict:
        return {
            "field": field,
            "stated": self.day.isoformat(),
            "received_on": self.received_on.isoformat(),
        }


def business_date(
    stated: date | None, field: str, role: str, *, allow_backdated: bool
) -> BusinessDate:
    """The date to record for ``field``: today when not stated; never a future day (422); a past
    day as sent when the platform replays past input (``ALLOW_BACKDATED_INPUT``), otherwise
    only for a role that may ``business_dates.backdate`` (403 for others)."""
    today = today_shanghai()
    if stated is None or stated == today:
        return BusinessDate(today, today)
    if stated > today:
        raise rule_violation(
            f"{field} {stated} is in the future", {field: [f"must not be after today ({today})"]}
        )
    if allow_backdated:
        return BusinessDate(stated, today)
    if not may(role, "business_dates.backdate"):
        raise ApiError(
            403,
            "forbidden",
            f"{field} before today ({today}) needs the role {' or '.join(ROLES_OF['business_dates.backdate'])}",
            {field: [f"must be today ({today}) or left out"]},
        )
    return BusinessDate(stated, today, backdated_by_role=True)
