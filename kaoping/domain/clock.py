"""Times as people read them: in the office's zone (``settings.tz``, ``KAOPING_TIMEZONE``).

kaoping stores every instant in UTC. Whatever turns one into text for a person — status,
artifacts, emails, documents, CLI output — goes through these helpers, so a cycle opened
at 01:30 on the 28th in Beijing never reads "27" anywhere.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo


def local(moment: datetime, tz: tzinfo) -> datetime:
    """``moment`` in the office's zone (a naive value is taken as UTC, as the database stores it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz)


def local_date(moment: datetime, tz: tzinfo) -> date:
    """The office's calendar date of ``moment``."""
    return local(moment, tz).date()


def local_time(moment: datetime, tz: tzinfo, *, seconds: bool = False) -> str:
    """2022-07-09 01:30 (office time)."""
    return f"{local(moment, tz):%Y-%m-%d %H:%M{':%S' if seconds else ''}}"


def chinese_date(day: date) -> str:
    """2022年7月9日 (公文 style: no leading zeros)."""
    return f"{day.year}年{day.month}月{day.day}日"


def month_day_time(moment: datetime, tz: tzinfo) -> str:
    """7月9日01:30 (office time): a time as an office letter writes it, within the year of the cycle."""
    at = local(moment, tz)
    return f"{at.month}月{at.day}日{at:%H:%M}"


def chinese_time(moment: datetime, tz: tzinfo) -> str:
    """2022年7月9日01:30 (office time), as a 文秘 writes it: no space between the day and the hour."""
    at = local(moment, tz)
    return f"{chinese_date(at.date())}{at:%H:%M}"


WEEKDAYS = "一二三四五六日"


def weekday(day: date) -> str:
    """星期五."""
    return f"星期{WEEKDAYS[day.weekday()]}"


def letter_day(day: date, *, today: date | None = None) -> str:
    """A deadline as a letter writes it: 7月8日（星期五）, the year added (2023年1月6日（星期五）) when it is not
    the year of ``today`` (the day the letter is written)."""
    text = chinese_date(day) if today is None or today.year != day.year else f"{day.month}月{day.day}日"
    return f"{text}（{weekday(day)}）"


def letter_time(moment: datetime, tz: tzinfo, *, today: date | None = None) -> str:
    """An instant as a letter writes it: 7月9日01:30 (office time), the year added (2022年7月9日01:30) when it is
    not the year of ``today``."""
    at = local(moment, tz)
    return month_day_time(at, tz) if today is not None and today.year == at.year else chinese_time(at, tz)
