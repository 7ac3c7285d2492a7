"""``build_email`` writes a message part by part; ``email.mime`` and its generator (with the standard
``compat32`` policy, CRLF lines) are the reference it must equal byte for byte — headers folded and
encoded alike, bodies and attachments in the same lines — for every shape kaoping sends: copies,
replies with long References, audit anchors, sealed codes, no HTML, several attachments of several
types, long Chinese subjects and file names."""

from __future__ import annotations

import uuid
from datetime import UTC
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr

from kaoping.models import OutboxMessage
from kaoping.models.types import utcnow
from kaoping.notifications import delivery
from kaoping.notifications.outbox import Attachment, queue
from sqlmodel import select

from kaoping import db

REFERENCE = compat32.clone(linesep="\r\n")


def reference_email(settings, row, attachments, token: str) -> bytes:
    """The message as ``email.mime`` builds it (kaoping's builder until issue 29)."""
    message = MIMEMultipart("mixed", boundary=f"===kaoping-mixed-{token}==")
    message["Subject"] = Header(row.subject, "utf-8")
    message["From"] = formataddr((str(Header(settings.office_name, "utf-8")), settings.mail_from))
    message["To"] = ", ".join(row.to)
    if row.cc:
        message["Cc"] = ", ".join(row.cc)
    message["Message-ID"] = row.message_id
    written = row.created_at or utcnow()
    message["Date"] = format_datetime((written if written.tzinfo else written.replace(tzinfo=UTC)).astimezone(settings.tz))
    message["X-Kaoping-Kind"] = row.kind
    if row.in_reply_to:
        message["In-Reply-To"] = row.in_reply_to
        message["References"] = row.reference_ids or row.in_reply_to
    if row.audit_anchor:
        message["X-Kaoping-Audit-Anchor"] = row.audit_anchor
    text, html = delivery._opened(settings, row)
    bodies = MIMEMultipart("alternative", boundary=f"===kaoping-alternative-{token}==")
    bodies.attach(MIMEText(text, "plain", "utf-8"))
    if html:
        bodies.attach(MIMEText(html, "html", "utf-8"))
    message.attach(bodies)
    for item in row.attachments:
        data = attachments[item["sha256"]]
        maintype, _, subtype = item["content_type"].partition("/")
        part = MIMEApplication(data, _subtype=subtype or "octet-stream")
        if maintype != "application":
            part.replace_header("Content-Type", item["content_type"])
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", item["filename"]))
        message.attach(part)
    return message.as_bytes(policy=REFERENCE)


def test_build_email_writes_what_email_mime_writes(migrated):
    s = migrated
    docx = Attachment("2022H1-ZP001-东河区-自评表.docx", bytes(range(256)) * 160)
    odd = Attachment("2022年上半年数字政府建设考评结果通报（征求意见稿）——包头市人民政府办公室数字政府专班印发.docx", b"\x00\xff" * 3001)
    ics = Attachment("实地调研.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", content_type="text/calendar; method=REQUEST; charset=utf-8")
    raw = Attachment("readme", b"plain bytes", content_type="application/")
    tiny = Attachment("a.txt", b"x")
    long_subject = "【考评】请于7月15日前报送2022年上半年数字政府建设考评实地调研记录表（东河区，2022H1-DY001）" * 2
    references = tuple(f"<kaoping.{i:032x}@baotou.example>" for i in range(25))
    cases = [
        dict(key="a", kind="form_issued", to=["liaison@150202.baotou.example"], subject="【考评】请填报自评表", text="您好。",
             html="<p>您好。</p>", attachments=[docx], cycle_code="2022H1"),
        dict(key="b", kind="reminder", to=["liaison@150202.baotou.example", "head@150202.baotou.example"],
             cc=["zhuanban@baotou.example", "office@baotou.example", "lead@150203.baotou.example"], subject=long_subject,
             text="第一行\n第二行\r\n" + "很长的一行" * 80, html="", cycle_code="2022H1"),
        dict(key="c", kind="return_received", to=["liaison@150202.baotou.example"], subject="【回执】已收到",
             text="收到。", html="<p>收到。</p>", in_reply_to="<CAF=x+y@mail.example.com>", references=references),
        dict(key="d", kind="visit_invitation", to=["a@b.example"], subject="ASCII subject only", text="plain ascii",
             html="<b>x</b>", attachments=[ics, odd, raw, tiny, docx], cycle_code="2022H1"),
        dict(key="e", kind="signoff_request", to=["signer@baotou.example"], subject="【请签字】专班核实",
             text="验证码：428913，请勿转发。", html="<p>验证码：<strong>428913</strong></p>", secret="428913",
             cycle_code="2022H1"),
        dict(key="f", kind="report_distribution", to=["x" * 50 + "@" + "y" * 40 + ".example"], subject="x" * 200,
             text="", html="<p></p>", attachments=[odd], cycle_code="2022H1"),
    ]
    with db.session_scope(s) as session:
        for case in cases:
            queue(session, s, **case)
    data = {a.sha256: a.data for a in (docx, odd, ics, raw, tiny)}
    encoded = delivery.EncodedAttachments()
    with db.session_scope(s) as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert len(rows) == len(cases)
        for row in rows:
            token = uuid.uuid4().hex
            assert delivery.build_email(s, row, session, encoded, token=token) == reference_email(s, row, data, token), row.idempotency_key
