"""The public notice: 5 working days of the official calendar, disbursement after."""

from datetime import date

import chinese_calendar
import pytest

from services.student_aid.domain.errors import CalendarUnknown, NoticeNotEnded
from services.student_aid.domain.notice import (
    check_notice_ended,
    is_working_day,
    notice_ends_on,
)
from shared.errors import answer


@pytest.mark.parametrize(
    ("published_on", "ends_on"),
    [
        # Friday before National Day: Sat 29 and Sun 30 Sept are make-up working days (2, 3),
        # 1–7 Oct are off, Mon 8 and Tue 9 Oct are days 4 and 5.
        (date(2018, 9, 28), date(2018, 10, 9)),
        # Published on the make-up Saturday: it counts as day 1.
        (date(2018, 9, 29), date(2018, 10, 10)),
        # Published during the holiday: counting starts on the next working day, Mon 8 Oct.
        (date(2018, 10, 3), date(2018, 10, 12)),
        # An ordinary week: Monday to Friday.
        (date(2018, 9, 10), date(2018, 9, 14)),
        # Published on an ordinary Saturday: counted from Monday.
        (date(2018, 9, 15), date(2018, 9, 21)),
        # Mid-Autumn Festival, Monday 24 Sept 2018, is off.
        (date(2018, 9, 20), date(2018, 9, 27)),
    ],
    ids=str,
)
def test_notice_ends_on_the_fifth_working_day(published_on, ends_on):
    assert notice_ends_on(published_on, 5) == ends_on


def test_the_calendar_knows_2018s_national_day_and_its_make_up_weekend():
    assert is_working_day(date(2018, 9, 29)) and is_working_day(date(2018, 9, 30))
    assert not any(is_working_day(date(2018, 10, day)) for day in range(1, 8))


def test_a_year_the_calendar_does_not_know_refused():
    with pytest.raises(CalendarUnknown, match=chinese_calendar.__version__) as refused:
        notice_ends_on(date(2100, 7, 1), 5)
    answered = answer(refused.value)
    assert (answered.status, answered.code, list(answered.fields)) == (
        422,
        "calendar_unknown",
        ["published_on"],
    )


@pytest.mark.parametrize(
    ("disbursed_on", "allowed"),
    [(date(2018, 10, 8), False), (date(2018, 10, 9), False), (date(2018, 10, 10), True)],
    ids=str,
)
def test_disbursement_on_or_before_notice_end_refused(disbursed_on, allowed):
    ends_on = date(2018, 10, 9)
    if allowed:
        check_notice_ended(ends_on, disbursed_on)
        return
    with pytest.raises(NoticeNotEnded) as refused:
        check_notice_ended(ends_on, disbursed_on)
    answered = answer(refused.value)
    assert (answered.status, answered.code, list(answered.fields)) == (
        422,
        "notice_not_ended",
        ["disbursed_on"],
    )
