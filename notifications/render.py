"""Messages rendered from Jinja2 templates in ``templates/email/`` (text and HTML, Chinese).

Rendering is apart from sending: ``render`` returns a message value; the outbox stores it;
the mailer only sends. The first line of each text template is ``主题：…`` (the subject) and the
second the greeting: keep that line free of block tags (``{% if %}`` at its end would, with
``trim_blocks``, join the greeting onto the subject) — use an inline ``{{ x if y else "" }}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from kaoping.models.types import utcnow
from kaoping.templates import EMAIL as TEMPLATES

from kaoping.domain.clock import chinese_date, letter_day, letter_time, local_date
from kaoping.settings import Settings

KINDS = ["form_issued", "return_received", "return_refused", "reminder", "overdue", "escalation", "visit_invitation",
         "third_party_request", "signoff_request", "report_distribution"]


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def office_today(settings: Settings) -> date:
    """The office's date by kaoping's clock (``utcnow``: fixed in tests, simulated in the demo)."""
    return local_date(utcnow(), settings.tz)


def when(moment: datetime, settings: Settings) -> str:
    """An instant in an email: 7月6日10:00 (office time; the year added when it is not this year's)."""
    return letter_time(moment, settings.tz, today=office_today(settings))


def due(day: date, settings: Settings, *, weekday: bool = True) -> str:
    """A deadline in an email: 7月8日（星期五）, or 7月8日 without ``weekday`` (in a subject, already in brackets);
    the year added when it is not this year's."""
    text = letter_day(day, today=office_today(settings))
    return text if weekday else text.partition("（")[0]


@cache
def _environment(autoescape: bool) -> Environment:
    """One environment of each kind per process, so a template is compiled once (a new one for each email
    compiled its two templates again: ~9 ms of each of the 6,000 emails of a province's cycle). Jinja still
    looks at a template file's time on each use and compiles it again when it was edited."""
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, trim_blocks=True,
                       lstrip_blocks=True, autoescape=select_autoescape(["html"]) if autoescape else False)


def render(kind: str, settings: Settings, **context) -> Rendered:
    context = {"office": settings.office_name, "today": chinese_date(office_today(settings)), **context}
    text = _environment(False).get_template(f"{kind}.txt.j2").render(**context)
    first, _, body = text.partition("\n")
    if not first.startswith("主题："):
        raise ValueError(f"template {kind}.txt.j2 must start with 主题：")
    subject = first.removeprefix("主题：").strip()
    html = _environment(True).get_template(f"{kind}.html.j2").render(subject=subject, **context)
    return Rendered(subject, body.lstrip("\n"), html)
