"""Chinese working days (kaoping/services/reference/workdays.py): the published holidays and make-up days,
and a year without published data (the office's overrides, then weekends). (`kaoping calendar check|set`:
tests/cli/test_mail.py.)"""

from __future__ import annotations

from datetime import date

from kaoping.services.reference.workdays import WorkCalendar


def test_spring_festival_2026_and_the_make_up_saturday():
    cal = WorkCalendar()
    assert cal.is_workday(date(2026, 2, 13))  # Friday before the holiday
    assert cal.is_workday(date(2026, 2, 14))  # Saturday: make-up working day (调休)
    assert not cal.is_workday(date(2026, 2, 16)) and not cal.is_workday(date(2026, 2, 23))  # 春节 holiday
    assert cal.is_workday(date(2026, 2, 24))
    # Three working days after Friday 2026-02-13: 02-14 (Sat, make-up), 02-24, 02-25.
    assert cal.add_workdays(date(2026, 2, 13), 3) == date(2026, 2, 25)
    assert cal.workdays_between(date(2026, 2, 13), date(2026, 2, 24)) == 2
    assert cal.workdays_between(date(2026, 2, 24), date(2026, 2, 13)) == -2


def test_a_year_without_published_data_uses_overrides_then_weekends(caplog):
    cal = WorkCalendar({date(2027, 2, 8): False, date(2027, 2, 20): True})
    with caplog.at_level("WARNING", logger="kaoping.calendar"):
        assert cal.is_workday(date(2027, 3, 1))  # a Monday: weekend rule
    assert "2027" in caplog.text and "周末规则" in caplog.text
    assert not cal.is_workday(date(2027, 3, 6))  # Saturday
    assert not cal.is_workday(date(2027, 2, 8)) and cal.is_workday(date(2027, 2, 20))  # the office's overrides
