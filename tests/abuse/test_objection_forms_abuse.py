"""The objection form (异议表) as a careless or hostile unit sends it (issue 17): nothing it sends
stops the mailbox or the intake; every message is moved, recorded and kept; the sender gets a
Chinese answer saying what is wrong and what to do (a stranger is held, unanswered); nothing is
half-recorded. The mail path runs against a real dovecot (IMAP) on loopback; the rest on SQLite,
PostgreSQL only where the SQL matters (a Message-ID longer than its column)."""

from __future__ import annotations

import copy
import io
import os
import random
import zipfile
from datetime import UTC, date, datetime
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate

import docx
import pytest
from kaoping.models import (
    FormKind,
    MailboxMessage,
    Objection,
    OutboxMessage,
    ReceivedFile,
)
from kaoping.notifications.mailbox import fetch_mail, route_text_reply
from sqlmodel import func, select

from kaoping import db
from kaoping.adapters.uploads import Upload
from kaoping.domain.incoming import Attachment, IncomingMessage
from kaoping.services.objections.window import office_today
from kaoping.services.returns import intake
from tests.abuse.helpers import zip_bytes
from tests.factories import (
    adjust_score,
    build,
    decide_objection,
    filled_objection_form,
    give_signoff,
    objection_form,
    open_objection_window,
    request_signoff,
    scored_cycle,
    sign_off,
)
from tests.imap_mail import deliver, folder, reply

LIAISON = "liaison@150204.baotou.example"  # 青山区
OTHER_UNIT = "liaison@150203.baotou.example"  # 昆都仑区, registered for its own unit only
STRANGER = "someone@example.org"


def _sqlite_only(settings) -> None:
    if "postgresql" in settings.database_url:
        pytest.skip("the objection service runs on both backends elsewhere; here the input path (SQLite)")


def _count(settings, model) -> int:
    with db.session_scope(settings) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def _outbox(settings, kind: str, to: str | None = None) -> list[OutboxMessage]:
    with db.session_scope(settings) as session:
        found = [m for m in session.exec(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))
                 if to is None or to in (m.to or [])]
        for m in found:
            session.expunge(m)
        return found


def _numbers(settings) -> list[int | None]:
    with db.session_scope(settings) as session:
        return [o.indicator_number for o in session.exec(select(Objection).order_by(Objection.id))]


def _mail(data: bytes, *, n: int, sender: str = LIAISON, at: datetime | None = None, name: str = "青山区异议表.docx",
          message_id: str | None = None, extra=()) -> IncomingMessage:
    return IncomingMessage(message_id=message_id or f"<abuse-{n}@unit.example>", sender=sender, subject="异议表",
                           text="见附件。", received_at=at or datetime.now(UTC), attachments=(Attachment(name, data), *extra))


def _route(settings, message):
    with db.session_scope(settings) as session:
        return route_text_reply(session, settings, message)


def _with_rows(data: bytes, rows: int, values: tuple[str, str, str]) -> bytes:
    """The form with its table grown to ``rows`` filled rows (as a unit pasting a spreadsheet in)."""
    document = docx.Document(io.BytesIO(data))
    table = document.tables[0]
    template = table.rows[1]._tr
    for cell, value in zip(table.rows[1].cells[1:], values, strict=True):
        cell.text = value
    texts = template.xpath(".//w:t")
    for _ in range(rows - 1):
        row = copy.deepcopy(template)
        row.xpath(".//w:t")[len(texts) - 1].text = os.urandom(12).hex()  # pasted rows differ (and compress as Word's do)
        template.addnext(row)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _rezip(data: bytes, *, drop: tuple[str, ...] = (), add: dict[str, bytes] | None = None,
           replace: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename in drop:
                continue
            target.writestr(item.filename, (replace or {}).get(item.filename, source.read(item.filename)))
        for name, content in (add or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def _resaved(data: bytes) -> bytes:
    """The same filled form opened and saved again (Word changes the bytes, not the rows)."""
    document = docx.Document(io.BytesIO(data))
    document.core_properties.revision = document.core_properties.revision + 1
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _fill(data: bytes, rows: list[tuple[str, str, str]]) -> bytes:
    document = docx.Document(io.BytesIO(data))
    for row, values in zip(document.tables[0].rows[1:], rows, strict=False):
        for cell, value in zip(row.cells[1:], values, strict=True):
            cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _ids(settings) -> list[int]:
    with db.session_scope(settings) as session:
        return list(session.exec(select(Objection.id).order_by(Objection.id)))


def _signoff_code(settings) -> str:
    from tests.factories import emailed_code

    return emailed_code(settings)


# --------------------------------------------------------------------------- what a unit writes in the form


def test_indicator_numbers_rows_and_sizes_a_unit_may_send(initialized_db, tmp_path, cli):
    settings = initialized_db
    _sqlite_only(settings)
    scored_cycle(settings, tmp_path)
    sign_off(settings)
    open_objection_window(settings, today=office_today())
    now = datetime.now(UTC)

    def receive(data: bytes, name: str = "异议表.docx", sender: str = LIAISON):
        return intake.receive(settings, Upload(name, data), sender=sender, received_at=now, channel="inbox")

    # Numbers as people type them: full-width, with 指标/第…项, several in one cell.
    got = receive(filled_objection_form(settings, [("５７", "偏低。", ""), ("指标43", "偏低。", ""), ("第57项", "应得满分。", "报告"),
                                         ("43、57", "两项均偏低。", "")]))
    assert got.accepted, got.reason
    assert _numbers(settings) == [57, 43, 57, 43, 57]

    # Numbers that are not an indicator the unit undertakes, or not a number at all: every row named, nothing recorded.
    bad = [("0", "偏低", ""), ("999", "偏低", ""), ("-57", "偏低", ""), ("57.5", "偏低", ""), ("43-57", "偏低", ""),
           ("9" * 5000, "偏低", ""), ("五十七", "偏低", "")]
    refused = receive(filled_objection_form(settings, bad + [("57", "x", "")]))
    assert not refused.accepted and "7 处需要更正，未登记任何异议" in refused.reason, refused.reason
    for row in range(2, 9):
        assert f"第 {row} 行" in refused.reason, (row, refused.reason)
    assert "第 9 行" not in refused.reason  # the good row is not named
    assert "不是青山区在本期承担的指标" in refused.reason and len(refused.reason) < 3000  # 5000 digits not echoed
    assert _count(settings, Objection) == 5
    [answer] = _outbox(settings, "objection_refused", LIAISON)
    assert "未能受理" in answer.subject and "-57" in answer.text_body
    # The same through `kaoping intake` (a form handed in on a USB stick): refused, non-zero, no traceback.
    (tmp_path / "青山区异议表.docx").write_bytes(filled_objection_form(settings, bad[:3]))
    result = cli("intake", tmp_path / "青山区异议表.docx")
    assert result.exit_code != 0 and "3 处需要更正" in result.output and "Traceback" not in result.output, result.output
    assert _count(settings, Objection) == 5

    # 10,000 rows (a spreadsheet pasted in), or one row of 1 MB: refused with what to do, nothing recorded
    # (the rows are counted before any is read as an objection; no timing here: speed is for benchmarks).
    many = receive(_with_rows(objection_form(settings), 10_000, ("57", "偏低", "")), name="异议表（一万行）.docx")
    assert not many.accepted and "行" in many.reason and "超过" in many.reason, many.reason[:300]
    rng = random.Random(17)
    essay = "".join(rng.choices([chr(c) for c in range(0x4E00, 0x9FA5)], k=1_000_000))  # a pasted report, not one character
    huge = receive(filled_objection_form(settings, [("57", essay, "")]), name="异议表（长文）.docx")
    assert not huge.accepted and "超过" in huge.reason and "附件" in huge.reason, huge.reason[:300]
    assert _count(settings, Objection) == 5
    assert len(_outbox(settings, "objection_refused", LIAISON)) == 3
    with db.session_scope(settings) as session:
        kept = {r.filename: r.status for r in session.exec(select(ReceivedFile).where(ReceivedFile.purpose == "objection"))}
    assert kept["异议表（一万行）.docx"] == "refused" and kept["异议表（长文）.docx"] == "refused"

    # The same form twice, and saved again by Word before the second sending: nothing recorded twice, the unit told.
    once = filled_objection_form(settings, [("43", "事项已全部上线。", "清单")])
    first = _route(settings, _mail(once, n=1))
    assert "已登记异议 1 条" in first.summary and _count(settings, Objection) == 6
    again = _route(settings, _mail(once, n=2))
    assert "此前已登记，未重复登记" in again.summary and _count(settings, Objection) == 6, again.summary
    assert "已登记异议" not in again.summary and not again.refused
    resaved = _route(settings, _mail(_resaved(once), n=3))
    assert "未重复登记" in resaved.summary and _count(settings, Objection) == 6, resaved.summary
    told = [m for m in _outbox(settings, "objection_received", LIAISON) if "未重复登记" in m.text_body]
    assert len(told) == 2 and all("已收到" in m.subject and "此前已经收到并登记（第 " in m.text_body for m in told), told
    # One new row among the old: only the new one is recorded.
    grown = filled_objection_form(settings, [("43", "事项已全部上线。", "清单"), ("57", "共享已完成。", "")])
    more = _route(settings, _mail(grown, n=4))
    assert "已登记异议 1 条" in more.summary and _count(settings, Objection) == 7, more.summary
    receipt = _outbox(settings, "objection_received", LIAISON)[-1]
    assert "共 1 项" in receipt.text_body and "另有 1 项与此前收到的异议相同" in receipt.text_body, receipt.text_body


# --------------------------------------------------------------------------- whose form, which cycle, when


def test_a_form_out_of_its_place_cycle_or_time(initialized_db, tmp_path):
    settings = initialized_db
    _sqlite_only(settings)
    scored_cycle(settings, tmp_path)
    sign_off(settings)
    open_objection_window(settings, today=date(2022, 7, 11))  # closed on 14 July 2022
    within = datetime(2022, 7, 12, 10, tzinfo=settings.tz)
    form = filled_objection_form(settings, [("57", "偏低", "")])

    # 昆都仑区's liaison returns 青山区's form from its own registered address: held, not answered, not recorded.
    held = _route(settings, _mail(form, n=1, sender=OTHER_UNIT, at=within))
    assert "暂存" in held.summary and held.refused and _count(settings, Objection) == 0
    assert not _outbox(settings, "objection_refused", OTHER_UNIT) and not _outbox(settings, "objection_received", OTHER_UNIT)

    # After the window: refused with the date it closed.
    late = _route(settings, _mail(form, n=2, at=datetime(2022, 7, 15, 9, tzinfo=settings.tz)))
    assert "异议期已于" in late.summary and late.refused and _count(settings, Objection) == 0
    assert "2022年7月14日" in _outbox(settings, "objection_refused", LIAISON)[-1].text_body

    # A form of a cycle this system does not have (a unit keeping last year's copy): refused, named.
    from kaoping.models import Cycle, CycleUnit

    from kaoping.services.objections import form as objection_form

    with db.session_scope(settings) as session:
        cycle = session.exec(select(Cycle)).one()
        unit = session.exec(select(CycleUnit).where(CycleUnit.code == "150204")).first()
        foreign = cycle.model_copy(update={"id": None, "code": "2019H1"})  # a cycle this system never had
        old = objection_form.build(settings, foreign, unit, closes_on=date(2019, 7, 10))
    other = _route(settings, _mail(old, n=3, at=within))
    assert "2019H1" in other.summary and "不在本系统中" in other.summary and other.refused

    # Sent back and changed: a second round (window 21-25 July). Its form after that window is refused with the
    # second round's date; the first round's form within the second window is an objection all the same.
    request_signoff(settings, "approval")
    assert give_signoff(settings, "approval", code=_signoff_code(settings), approve=False, comments="青山区指标57请复核").ok
    adjust_score(settings, unit="青山区", indicator=57, score="4", reason="退回后复核，按验收报告调整")
    sign_off(settings)
    second = open_objection_window(settings, today=date(2022, 7, 20))
    assert (second.round, second.closes_on) == (2, date(2022, 7, 25))
    round_two = _fill((settings.var_dir / "objections" / "2022H1" / "第2轮" / "150204-青山区-异议表.docx").read_bytes(),
                      [("43", "第二轮：偏低", "")])
    late_two = _route(settings, _mail(round_two, n=5, at=datetime(2022, 7, 26, 9, tzinfo=settings.tz)))
    assert "2022年7月25日" in late_two.summary and late_two.refused and _count(settings, Objection) == 0, late_two.summary
    old_round = _route(settings, _mail(form, n=6, at=datetime(2022, 7, 21, 9, tzinfo=settings.tz)))
    assert "已登记异议 1 条" in old_round.summary and not old_round.refused, old_round.summary
    [(oid,)] = [(o,) for o in _ids(settings)]
    decide_objection(settings, oid, uphold=False, reason="复核后得分无误")

    # After the approval (the cycle closed): refused, the unit told why.
    request_signoff(settings, "approval")
    assert give_signoff(settings, "approval", code=_signoff_code(settings), approve=True).ok
    after = _route(settings, _mail(filled_objection_form(settings, [("43", "审定后才发现偏低", "")]), n=4))
    assert "已不在异议期" in after.summary and after.refused and _count(settings, Objection) == 1
    assert "已不在异议期" in _outbox(settings, "objection_refused", LIAISON)[-1].text_body


def test_a_message_id_longer_than_the_column(initialized_db, tmp_path):
    """Where SQL matters: Objection.message_id is 300 characters; a mailer may write more."""
    settings = initialized_db
    scored_cycle(settings, tmp_path)
    sign_off(settings)
    open_objection_window(settings, today=office_today())
    long_id = f"<{'x' * 400}@unit.example>"
    got = _route(settings, _mail(filled_objection_form(settings, [("57", "偏低", "")]), n=0, message_id=long_id))
    assert "已登记异议 1 条" in got.summary, got.summary
    again = _route(settings, _mail(filled_objection_form(settings, [("57", "偏低", "")]), n=0, message_id=long_id))
    assert "此前已登记" in again.summary and _count(settings, Objection) == 1

    # Replies by text, as a hostile unit writes them: 10,000 objections in one reply, or 1 MB of text.
    with db.session_scope(settings) as session:
        letter = session.exec(select(OutboxMessage.message_id).where(
            OutboxMessage.idempotency_key == "objection-letter:2022H1:150204")).one()
    for n, text in enumerate(("\n\n".join(f"指标序号：57\n异议内容：偏低 {i}" for i in range(10_000)), "偏低" * 500_000)):
        got = _route(settings, IncomingMessage(message_id=f"<text-{n}@unit.example>", sender=LIAISON, subject="回复：征求意见稿",
                                               text=text, received_at=datetime.now(UTC), in_reply_to=letter))
        assert "未登记" in got.summary and "超过" in got.summary and got.refused, got.summary[:300]
    assert _count(settings, Objection) == 1
    assert len([m for m in _outbox(settings, "objection_refused", LIAISON) if "超过" in m.text_body]) == 2


# --------------------------------------------------------------------------- through the real mailbox


def _html_only(sender: str, subject: str, name: str, data: bytes) -> bytes:
    message = MIMEMultipart("mixed")
    message["From"], message["To"], message["Subject"] = sender, "zhuanban@baotou.example", subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = "<html-only@unit.example>"
    message.attach(MIMEText("<p>异议表见<b>附件</b>。</p>", "html", "utf-8"))
    part = MIMEApplication(data, _subtype="vnd.openxmlformats-officedocument.wordprocessingml.document")
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
    message.attach(part)
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def test_whatever_a_unit_mails_the_mailbox_goes_on(imap_settings, imap_server, tmp_path):
    settings = imap_settings
    _sqlite_only(settings)
    scored_cycle(settings, tmp_path)
    sign_off(settings)
    open_objection_window(settings, today=office_today())
    blank = objection_form(settings)
    form = filled_objection_form(settings, [("57", "共享已完成，应得满分。", "验收报告")])
    name = "150204-青山区-异议表"
    [self_assessment] = build(settings, FormKind.self_assessment, tmp_path, "150204")
    bomb = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"0" * 60_000_000})
    docm = _rezip(filled_objection_form(settings, [("43", "偏低", "")]), add={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0macro"})
    unmarked = _rezip(filled_objection_form(settings, [("43", "偏低", "")]), drop=("docProps/custom.xml",))
    sent = {  # subject: (sender, attachments)
        "他单位的表": (OTHER_UNIT, [(f"{name}.docx", form)]),
        "陌生人": (STRANGER, [(f"{name}.docx", filled_objection_form(settings, [("43", "冒名", "")]))]),
        "不是zip": (LIAISON, [(f"{name}.docx", b"this is not a zip at all" * 100)]),
        "压缩炸弹": (LIAISON, [(f"{name}.docx", bomb)]),
        "doc": (LIAISON, [(f"{name}.doc", bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 4000)]),
        "wps": (LIAISON, [(f"{name}.wps", bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 4000)]),
        "pdf": (LIAISON, [(f"{name}.pdf", b"%PDF-1.4 scanned form")]),
        "宏": (LIAISON, [(f"{name}.docx", docm)]),
        "去掉标识": (LIAISON, [(f"{name}.docx", unmarked)]),
        "空白": (LIAISON, [(f"{name}.docx", blank)]),
        "两种表": (LIAISON, [(f"{name}.docx", form), ("自评表.docx", self_assessment.read_bytes())]),
        "三十个附件": (LIAISON, [(f"{name}.docx", filled_objection_form(settings, [("43", "事项已全部上线。", "见附件")]))]
                       + [(f"佐证材料{i:02d}.pdf", f"%PDF-1.4 proof {i}".encode()) for i in range(29)]),
    }
    for subject, (sender, attachments) in sent.items():
        deliver(imap_server, settings, reply(sender, subject, attachments, text="请查收。"))
    deliver(imap_server, settings, _html_only(LIAISON, "只有HTML", f"{name}.docx",
                                              filled_objection_form(settings, [("57", "HTML邮件发来的异议。", "")])))

    report = fetch_mail(settings, limit=50)

    outcomes = {m.subject: m for m in report.messages}
    assert set(outcomes) == set(sent) | {"只有HTML"}, [m.subject for m in report.messages]
    assert folder(imap_server, settings, "INBOX") == [] and report.waiting == 0  # every message moved
    with db.session_scope(settings) as session:
        rows = session.exec(select(MailboxMessage)).all()
        assert len(rows) == len(outcomes) and all(r.status == "moved" for r in rows)
    processed = settings.imap_processed_folder
    to_processed = {s for s, m in outcomes.items() if m.folder == processed}
    assert to_processed == {"三十个附件", "只有HTML"}, {s: (m.folder, m.summary) for s, m in outcomes.items()}
    assert len(folder(imap_server, settings, processed)) == 2
    assert len(folder(imap_server, settings, settings.imap_refused_folder)) == len(outcomes) - 2
    # The objection form with a self-assessment: each file taken as what it is — the objection recorded, the
    # self-assessment (its stage long past) refused with its reason; the message filed with the refused mail.
    both = outcomes["两种表"]
    assert [f["accepted"] for f in both.files] == [True, False], both.files
    assert "登记异议 1 项" in both.files[0]["summary"] and both.files[1]["reason"]

    # What was recorded: the three good forms, each once; the evidence kept with the thirty-attachment one.
    with db.session_scope(settings) as session:
        made = session.exec(select(Objection).order_by(Objection.id)).all()
        assert sorted((o.indicator_number, o.disputed[:8]) for o in made) == sorted(
            [(57, "共享已完成，应得"), (43, "事项已全部上线。"), (57, "HTML邮件发来")])
        thirty = next(o for o in made if o.indicator_number == 43)
        assert len([a for a in thirty.attachments if not a.get("form")]) == 29
    # Everyone with a registered address was answered in Chinese; the stranger and the other unit were not.
    answers = [m for m in _outbox(settings, "objection_refused") + _outbox(settings, "return_refused")
               + _outbox(settings, "mail_no_form") + _outbox(settings, "intake_refused")]
    to_liaison = [m for m in answers if LIAISON in m.to]
    assert len(to_liaison) >= 7, [(m.kind, m.subject) for m in answers]
    assert not [m for m in answers if STRANGER in m.to or OTHER_UNIT in m.to]
    for subject in ("不是zip", "压缩炸弹", "doc", "wps", "宏", "去掉标识", "空白"):
        assert outcomes[subject].folder == settings.imap_refused_folder, (subject, outcomes[subject].summary)
    assert "暂存" in outcomes["他单位的表"].summary and "暂存" in outcomes["陌生人"].summary
    assert "没有填写任何异议" in outcomes["空白"].summary
