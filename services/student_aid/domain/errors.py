"""The refusals of the student-aid rules that carry their own code (API.md "Student aid")."""

from __future__ import annotations

from shared.domain_errors import RuleViolation


class OutsideWindow(RuleViolation):
    """The application is dated outside its campaign's window."""

    code = "outside_window"

    def __init__(self, message: str):
        super().__init__(message, "applied_on")


class NoticeNotEnded(RuleViolation):
    """Disbursement asked for on or before the last day of the public notice."""

    code = "notice_not_ended"

    def __init__(self, message: str):
        super().__init__(message, "disbursed_on")


class CalendarUnknown(RuleViolation):
    """The official calendar library has no data for the year: working days cannot be counted."""

    code = "calendar_unknown"
