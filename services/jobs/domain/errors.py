"""The refusals of the jobs rules that carry their own code (API.md "Jobs")."""

from __future__ import annotations

from shared.domain_errors import Conflict, RuleViolation


class VacancyFilled(Conflict):
    """The vacancy has no open place left (another hire took the last one), or is closed."""

    code = "vacancy_filled"

    def __init__(self, vacancy_id: str):
        super().__init__(f"vacancy {vacancy_id} has no open place left", None)


class VacancyNotOpen(RuleViolation):
    """An intent for a vacancy that is filled, closed or past its valid_until."""

    code = "vacancy_not_open"

    def __init__(self, message: str):
        super().__init__(message, "vacancy_id")


class SeekerIncomplete(RuleViolation):
    """A seeker registered from a referral takes part once staff complete the profile."""

    code = "seeker_incomplete"

    def __init__(self, message: str, field: str = "seeker_id"):
        super().__init__(message, field)


class FollowUpNotDue(RuleViolation):
    code = "follow_up_not_due"

    def __init__(self, message: str):
        super().__init__(message, "day")
