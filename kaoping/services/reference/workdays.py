"""Chinese working days (工作日): statutory holidays and 调休 make-up days.

The data comes from the maintained ``chinese-calendar`` package, with the office's own
override table on top. For a year the package does not cover yet, kaoping neither
crashes nor guesses silently: it uses the override table, else weekends only, and says so
(in the log, and in ``kaoping calendar check YEAR``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar
from sqlmodel import Session, select

from kaoping.models import CalendarOverride
from kaoping.records import audit

log = logging.getLogger("kaoping.calendar")


def package_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
        return True
    except NotImplementedError:
        return False


class WorkCalendar:
    def __init__(self, overrides: dict[date, bool] | None = None):
        self.overrides = overrides or {}
        self._warned: set[int] = set()

    @classmethod
    def load(cls, session: Session) -> "WorkCalendar":
        return cls({o.day: o.workday for o in session.exec(select(CalendarOverride))})

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            if day.year not in self._warned:
                self._warned.add(day.year)
                log.warning(
                    "chinese-calendar 尚无 %s 年的节假日安排：按周末规则计算工作日（覆盖表中已有的日期除外）。"
                    "国务院办公厅公布安排后，请升级 chinese-calendar 或用 kaoping calendar set 录入。", day.year)
            return day.weekday() < 5

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (n ≥ 0; 0 gives ``start`` itself if a working day, else the next)."""
        day = start
        while not self.is_workday(day):
            day += timedelta(days=1)
        while n > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                n -= 1
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative when end < start)."""
        if end < start:
            return -self.workdays_between(end, start)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count


@dataclass
class YearCheck:
    year: int
    covered: bool
    holidays: list[date]  # weekdays that are not working days
    makeup_days: list[date]  # weekend days that are working days (调休)
    overrides: int
    workdays: int


def check_year(session: Session, year: int) -> YearCheck:
    calendar = WorkCalendar.load(session)
    days = [date(year, 1, 1) + timedelta(days=i) for i in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]
    holidays = [d for d in days if d.weekday() < 5 and not calendar.is_workday(d)]
    makeup = [d for d in days if d.weekday() >= 5 and calendar.is_workday(d)]
    overrides = sum(1 for d in calendar.overrides if d.year == year)
    return YearCheck(year, package_covers(year), holidays, makeup, overrides, sum(calendar.is_workday(d) for d in days))


def set_override(session: Session, day: date, *, workday: bool, note: str, actor: str) -> CalendarOverride:
    """Set one day as a working day or a holiday in the override table (it wins over the package), logged."""
    row = session.exec(select(CalendarOverride).where(CalendarOverride.day == day)).first()
    before = None if row is None else {"workday": row.workday, "note": row.note}
    row = row or CalendarOverride(day=day, workday=workday)
    row.workday, row.note, row.set_by = workday, note, actor
    session.add(row)
    session.flush()
    audit.append(session, actor=actor, action="calendar.set", entity=f"day:{day}", before=before,
                 after={"workday": workday, "note": note}, reason=note or "覆盖工作日安排")
    return row
