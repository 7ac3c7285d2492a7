"""The answer to whoever returned a file: the receipt, or the reason it was refused."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from kaoping.adapters.uploads import Upload
from kaoping.models.types import utcnow
from kaoping.notifications.outbox import queue
from kaoping.notifications.render import render, when
from kaoping.services.forms import kind_spec
from kaoping.settings import Settings


def queue_intake_reply(session: Session, settings: Settings, upload: Upload, *, sender: str, accepted: bool,
                       result=None, reason: str = "", received_at: datetime | None = None) -> bool:
    """The receipt, or the reason for refusal, back to whoever sent the file."""
    received = when(received_at or utcnow(), settings)
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
