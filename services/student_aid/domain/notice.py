"""The public notice (公示): its working days by the official calendar, and when disbursement may
follow. Names on it are masked by shared.identity.mask_name."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

from services.student_aid.domain.errors import CalendarUnknown, NoticeNotEnded


def is_working_day(day: date) -> bool:
    """A working day of the official calendar: statutory holidays off, make-up days on. A year
    the library does not know is refused rather than guessed from weekdays."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        raise CalendarUnknown(
            f"the official calendar for {day.year} is not known to this release "
            f"(chinese-calendar {chinese_calendar.__version__}): upgrade it to count working days",
            "published_on",
        ) from None


def notice_ends_on(published_on: date, working_days: int) -> date:
    """The last day of a notice lasting ``working_days`` working days, counted from
    ``published_on`` itself when it is a working day, else from the next working day."""
    day, counted = published_on, 0
    while True:
        if is_working_day(day):
            counted += 1
            if counted == working_days:
                return day
        day += timedelta(days=1)


def check_notice_ended(ends_on: date, disbursed_on: date) -> None:
    """Disbursement is allowed from the day after the notice's last day."""
    if disbursed_on <= ends_on:
        raise NoticeNotEnded(
            f"the public notice runs until {ends_on}: disbursement is allowed from the day after"
        )
