"""Calendar invitations (.ics, iCalendar METHOD:REQUEST) for field visits, in Asia/Shanghai.

Outlook and the usual 政务邮箱 clients accept a REQUEST with a VTIMEZONE, an ORGANIZER, one
ATTENDEE per person and a stable UID; a rescheduled visit is the same UID with a higher
SEQUENCE, which clients apply as an update rather than a second meeting.
"""

from __future__ import annotations

from datetime import datetime
from kaoping.models.types import utcnow
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneStandard, vCalAddress, vText


def _timezone(tz: ZoneInfo) -> Timezone:
    """VTIMEZONE for China (UTC+8 all year, no daylight saving since 1991)."""
    zone = Timezone()
    zone.add("tzid", str(tz))
    standard = TimezoneStandard()
    standard.add("dtstart", datetime(1991, 9, 15, 0, 0))
    standard.add("tzoffsetfrom", datetime(2000, 1, 1, tzinfo=tz).utcoffset())
    standard.add("tzoffsetto", datetime(2000, 1, 1, tzinfo=tz).utcoffset())
    standard.add("tzname", "CST")
    zone.add_component(standard)
    return zone


def visit_invitation(
    *, uid: str, sequence: int, start: datetime, end: datetime, summary: str, location: str, description: str,
    organizer: tuple[str, str], attendees: list[tuple[str, str]], tz: ZoneInfo, stamp: datetime | None = None,
) -> bytes:
    """A meeting request; ``organizer`` and ``attendees`` are (name, email)."""
    calendar = Calendar()
    calendar.add("prodid", "-//kaoping//数字政府建设考评//ZH")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    calendar.add("calscale", "GREGORIAN")
    calendar.add_component(_timezone(tz))
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp or utcnow().astimezone(tz))
    event.add("dtstart", start.astimezone(tz))
    event.add("dtend", end.astimezone(tz))
    event.add("summary", summary)
    event.add("location", location)
    event.add("description", description)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    name, address = organizer
    organizer_address = vCalAddress(f"mailto:{address}")
    organizer_address.params["cn"] = vText(name)
    event.add("organizer", organizer_address)
    for name, address in attendees:
        attendee = vCalAddress(f"mailto:{address}")
        attendee.params["cn"] = vText(name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("NEEDS-ACTION")
        attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    return calendar.to_ical()
