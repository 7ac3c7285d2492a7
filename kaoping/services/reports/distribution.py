"""Distributing the published documents: the 报告, 通报 and workbook to leadership, the 通报 and
its own 反馈函 to every unit."""

from __future__ import annotations

from sqlmodel import Session, select

from kaoping.models import Cycle, CycleUnit
from kaoping.notifications.outbox import Attachment, queue
from kaoping.notifications.render import render
from kaoping.services.cycles.cycle import cycle_label
from kaoping.services.reference.contacts import unit_contacts
from kaoping.settings import Settings


def queue_report_distribution(session: Session, settings: Settings, cycle: Cycle, reports) -> int:
    """The 报告 and 通报 (and the workbook) to leadership; the 通报 and its own 反馈函 to every unit."""
    period = cycle_label(cycle)
    created = 0
    tongbao = Attachment(reports.tongbao.name, reports.tongbao.read_bytes())
    leadership = render("report_distribution", settings, greeting="市委、市政府、市纪委监委", period=period,
                        documents=["情况报告", "结果通报", "结果汇总表"], upward=True)
    _, new = queue(session, settings, key=f"report:{cycle.code}:leadership", kind="report_distribution",
                   to=settings.leadership_emails, subject=leadership.subject, text=leadership.text, html=leadership.html,
                   attachments=[Attachment(reports.baogao.name, reports.baogao.read_bytes()), tongbao,
                                Attachment(reports.workbook.name, reports.workbook.read_bytes())], cycle_code=cycle.code)
    created += new
    letters = {p.name.split("-")[0]: p for p in reports.letters}
    for unit in session.exec(select(CycleUnit).where(CycleUnit.cycle_id == cycle.id).order_by(CycleUnit.position)):
        recipients = unit_contacts(session, unit.unit_id)
        if not recipients or unit.code not in letters:
            continue
        rendered = render("report_distribution", settings, greeting=unit.short_name, period=period,
                          documents=["结果通报", "反馈函"], upward=False)
        letter = letters[unit.code]
        _, new = queue(session, settings, key=f"report:{cycle.code}:{unit.code}", kind="report_distribution",
                       to=recipients, subject=rendered.subject, text=rendered.text, html=rendered.html,
                       attachments=[tongbao, Attachment(letter.name, letter.read_bytes())], cycle_code=cycle.code)
        created += new
    return created
