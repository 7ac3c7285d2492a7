"""Calendar invitations (.ics) for field visits: notifications/invites.py's rendering."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar
from kaoping.notifications.invites import visit_invitation


def test_visit_invitation_ics():
    tz = ZoneInfo("Asia/Shanghai")
    start = datetime(2022, 6, 28, 9, 0, tzinfo=tz)
    data = visit_invitation(uid="visit-2022H1-150202@kaoping", sequence=1, start=start, end=start + timedelta(hours=3),
                            summary="实地调研：东河区", location="东河区政务服务中心", description="数字政府建设考评实地调研",
                            organizer=("数字政府专班", "zhuanban@baotou.example"),
                            attendees=[("张三", "zhangsan@baotou.example"), ("东河区联络员", "liaison@150202.baotou.example")],
                            tz=tz)
    calendar = Calendar.from_ical(data)
    assert calendar["method"] == "REQUEST"
    [zone] = calendar.walk("VTIMEZONE")
    assert zone["tzid"] == "Asia/Shanghai"
    [event] = calendar.walk("VEVENT")
    assert event["uid"] == "visit-2022H1-150202@kaoping" and event["sequence"] == 1
    assert event.decoded("dtstart") == start and event["summary"] == "实地调研：东河区"
    assert len(event["attendee"]) == 2 and b"TZID=Asia/Shanghai" in data
