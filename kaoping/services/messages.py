"""Messages rendered from Jinja2 templates in ``templates/email/`` (text and HTML, Chinese).

Rendering is apart from sending: ``render`` returns a message value; the outbox stores it;
the mailer only sends. The first line of each text template is ``主题：…`` (the subject) and the
second the greeting: keep that line free of block tags (``{% if %}`` at its end would, with
``trim_blocks``, join the greeting onto the subject) — use an inline ``{{ x if y else "" }}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session, select

from kaoping.adapters.uploads import Upload
from kaoping.domain.clock import chinese_date, local_date, local_time
from kaoping.models import Cycle, Unit
from kaoping.models.types import utcnow
from kaoping.services.contacts import unit_contacts
from kaoping.services.cycles import cycle_label
from kaoping.services.forms import kind_spec
from kaoping.services.outbox import Attachment, queue
from kaoping.settings import PROJECT_ROOT, Settings

TEMPLATES = PROJECT_ROOT / "templates" / "email"
KINDS = ["form_issued", "return_received", "return_refused", "reminder", "overdue", "escalation", "visit_invitation",
         "third_party_request", "signoff_request", "report_distribution"]


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _environment(autoescape: bool) -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, trim_blocks=True,
                       lstrip_blocks=True, autoescape=select_autoescape(["html"]) if autoescape else False)


def render(kind: str, settings: Settings, **context) -> Rendered:
    context = {"office": settings.office_name, "today": chinese_date(local_date(utcnow(), settings.tz)), **context}
    text = _environment(False).get_template(f"{kind}.txt.j2").render(**context)
    first, _, body = text.partition("\n")
    if not first.startswith("主题："):
        raise ValueError(f"template {kind}.txt.j2 must start with 主题：")
    subject = first.removeprefix("主题：").strip()
    html = _environment(True).get_template(f"{kind}.html.j2").render(subject=subject, **context)
    return Rendered(subject, body.lstrip("\n"), html)




def form_recipients(session: Session, settings: Settings, cycle: Cycle, built) -> list[str]:
    """Who gets a form: its kind decides (``FormKindSpec.recipients``): the unit's 联络员, the
    team visiting the unit, the evaluator or survey office, …"""
    return kind_spec(built.form.kind).recipients(session, settings, cycle, built.form)


def queue_form(session: Session, settings: Settings, cycle: Cycle, built, *, recipients: list[str]) -> int:
    """One message per recipient with the form attached (idempotent per form version)."""
    form = built.form
    kind = kind_spec(form.kind)
    unit = session.get(Unit, form.subject_unit_id) if form.subject_unit_id else None
    greeting = f"{unit.short_name}" if unit else "各位"
    rendered = render(
        kind.email_template, settings,
        greeting=greeting, period=cycle_label(cycle), form_label=kind.label, form_no=form.form_no, form_kind=str(kind.kind),
        deadline=chinese_date(form.deadline) if form.deadline else "通知规定的时间",
        units=sum(1 for row in form.rows if row[0] == "main"),
    )
    attachment = Attachment(f"{form.form_no}-{built.subject_label}-{kind.label}.docx", Path(form.path).read_bytes())
    created = 0
    for address in recipients:
        _, new = queue(session, settings, key=f"form:{form.form_no}:v{form.version}:{address}", kind="form_issued",
                       to=[address], subject=rendered.subject, text=rendered.text, html=rendered.html,
                       attachments=[attachment], cycle_code=cycle.code)
        created += new
    return created


def queue_intake_reply(session: Session, settings: Settings, upload: Upload, *, sender: str, accepted: bool,
                       result=None, reason: str = "", received_at: datetime | None = None) -> bool:
    """The receipt, or the reason for refusal, back to whoever sent the file."""
    received = local_time(received_at or utcnow(), settings.tz)
    if accepted:
        rendered = render("return_received", settings, greeting="您好", form_label=kind_spec(result.kind).label,
                          form_no=result.form_no, file_name=upload.name, received=received, summary=result.summary,
                          late=result.late)
    else:
        rendered = render("return_refused", settings, greeting="您好", file_name=upload.name, received=received,
                          reason=reason)
    _, created = queue(session, settings, key=f"intake:{upload.sha256}:{'ok' if accepted else 'refused'}:{sender}",
                       kind="return_received" if accepted else "return_refused", to=[sender], subject=rendered.subject,
                       text=rendered.text, html=rendered.html)
    return created


def queue_report_distribution(session: Session, settings: Settings, cycle: Cycle, reports) -> int:
    """The 报告 and 通报 (and the workbook) to leadership; the 通报 and its own 反馈函 to every unit."""
    from kaoping.models import CycleUnit

    period = cycle_label(cycle)
    created = 0
    tongbao = Attachment(reports.tongbao.name, reports.tongbao.read_bytes())
    leadership = render("report_distribution", settings, greeting="市委、市政府、市纪委监委", period=period,
                        documents=["情况报告", "结果通报", "结果汇总表"])
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
                          documents=["结果通报", "反馈函"])
        letter = letters[unit.code]
        _, new = queue(session, settings, key=f"report:{cycle.code}:{unit.code}", kind="report_distribution",
                       to=recipients, subject=rendered.subject, text=rendered.text, html=rendered.html,
                       attachments=[tongbao, Attachment(letter.name, letter.read_bytes())], cycle_code=cycle.code)
        created += new
    return created
