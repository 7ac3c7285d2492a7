"""Issue 15 item 1: returns taken from the office mailbox over IMAP — against a real dovecot on
loopback (``imap_server``), messages delivered with IMAP APPEND as a mail server would.

Recorded by Message-ID first (raw bytes kept), taken in through the same intake as the inbox
folder, moved to the processed or refused folder; never twice; a crash at any point loses
nothing and duplicates nothing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from kaoping.models import MailboxMessage, ReceivedFile, Submission
from kaoping.notifications.mailbox import fetch_mail
from sqlmodel import select

from kaoping import db
from tests import factories
from tests.abuse.helpers import counts, filled_self_assessment, mail_to
from tests.imap_mail import deliver, folder, forward_of, gbk_zip, reply

TZ = ZoneInfo("Asia/Shanghai")
DONGHE = "liaison@150202.baotou.example"
KUNDULUN = "liaison@150203.baotou.example"
EVIL = "evil@attacker.example"


class Crash(BaseException):
    """The process dies here (a test's checkpoint raises it; like SystemExit, nothing catches it)."""


def crash_at(point: str):
    def checkpoint(reached: str) -> None:
        if reached == point:
            raise Crash(point)
    return checkpoint


#: What depends on the database (recording, idempotency, crashes, sender rules) runs on both backends;
#: the parsing tests run on SQLite only (tests/conftest.py, pytest_generate_tests).
BOTH_BACKENDS = {"test_reply_with_a_form_is_recorded_taken_in_receipted_and_moved", "test_crash_between_fetch_and_record_loses_nothing",
                 "test_crash_after_record_resumes_once", "test_a_strangers_return_is_held_without_reply"}


@pytest.fixture
def office(imap_settings):
    factories.open_cycle(imap_settings)
    return imap_settings


def form(settings, tmp_path: Path, unit: str = "150202", name: str | None = None) -> bytes:
    return filled_self_assessment(settings, tmp_path, unit, name=name or f"{unit}.docx").read_bytes()


def records(settings) -> list[MailboxMessage]:
    with db.session_scope(settings) as session:
        return list(session.exec(select(MailboxMessage).order_by(MailboxMessage.id)))


def test_reply_with_a_form_is_recorded_taken_in_receipted_and_moved(office, imap_server, tmp_path):
    raw = reply(DONGHE, "回复：东河区自评表", [("东河区自评表.docx", form(office, tmp_path))])
    arrived = datetime(2022, 7, 5, 16, 20, tzinfo=TZ)
    deliver(imap_server, office, raw, arrived)
    report = fetch_mail(office)
    [message] = report.messages
    assert message.outcome == "accepted" and message.folder == office.imap_processed_folder and message.moved
    assert folder(imap_server, office, "INBOX") == [] and folder(imap_server, office, office.imap_processed_folder) == [raw]
    [row] = records(office)
    assert row.status == "moved" and row.sender == DONGHE and row.received_at == arrived and row.subject == "回复：东河区自评表"
    with db.session_scope(office) as session:
        kept = session.get(ReceivedFile, row.raw_file_id)
        assert kept.purpose == "mail" and (office.received_dir / kept.sha256[:2] / kept.sha256).read_bytes() == raw
        [submission] = session.exec(select(Submission)).all()
        assert submission.received_at == arrived  # the server's INTERNALDATE, not the time of the fetch
    [receipt] = mail_to(office, DONGHE)
    assert receipt.kind == "return_received"
    assert fetch_mail(office).messages == []  # the folder is empty: nothing to do

    deliver(imap_server, office, raw)  # the same message again (a client re-sent it): never handled twice
    [again] = fetch_mail(office).messages
    assert again.outcome == "already" and again.folder == office.imap_processed_folder
    assert len(records(office)) == 1 and len(mail_to(office, DONGHE)) == 1
    assert counts(office)["Submission"] == 1 and len(folder(imap_server, office, office.imap_processed_folder)) == 2


def test_crash_between_fetch_and_record_loses_nothing(office, imap_server, tmp_path):
    raw = reply(DONGHE, "自评表", [("自评表.docx", form(office, tmp_path))])
    deliver(imap_server, office, raw)
    with pytest.raises(Crash):
        fetch_mail(office, checkpoint=crash_at("fetched"))
    assert records(office) == [] and counts(office)["Submission"] == 0
    assert folder(imap_server, office, "INBOX") == [raw]  # still there, still unread (fetched with BODY.PEEK)
    from imapclient import IMAPClient

    with IMAPClient("127.0.0.1", port=imap_server.port, ssl=False) as client:
        client.login(office.imap_user, imap_server.password)
        client.select_folder("INBOX", readonly=True)
        assert client.search(["UNSEEN"]) != []
    [message] = fetch_mail(office).messages
    assert message.outcome == "accepted" and counts(office)["Submission"] == 1 and len(mail_to(office, DONGHE)) == 1


@pytest.mark.parametrize("point", ["recorded", "handled"])
def test_crash_after_record_resumes_once(office, imap_server, tmp_path, point):
    raw = reply(DONGHE, "自评表", [("自评表.docx", form(office, tmp_path))])
    deliver(imap_server, office, raw)
    with pytest.raises(Crash):
        fetch_mail(office, checkpoint=crash_at(point))
    [row] = records(office)
    assert row.status == ("recorded" if point == "recorded" else "handled")
    assert folder(imap_server, office, "INBOX") == [raw]
    [message] = fetch_mail(office).messages
    assert message.outcome == ("accepted" if point == "recorded" else "already")
    assert message.folder == office.imap_processed_folder and folder(imap_server, office, "INBOX") == []
    [row] = records(office)
    assert row.status == "moved" and row.outcome == "accepted"
    assert counts(office)["Submission"] == 1 and len(mail_to(office, DONGHE)) == 1
    with db.session_scope(office) as session:
        assert len(session.exec(select(ReceivedFile).where(ReceivedFile.purpose == "mail")).all()) == 1


def test_a_strangers_return_is_held_without_reply(office, imap_server, tmp_path):
    deliver(imap_server, office, reply(EVIL, "自评表", [("昆都仑区.docx", form(office, tmp_path, "150203"))]))
    [message] = fetch_mail(office).messages
    assert message.outcome == "held" and message.folder == office.imap_refused_folder
    assert mail_to(office, EVIL) == [] and counts(office)["Submission"] == 0
    with db.session_scope(office) as session:
        held = session.exec(select(ReceivedFile).where(ReceivedFile.status == "held")).one()
        assert held.sender == EVIL and held.filename == "昆都仑区.docx"


def test_gbk_names_and_body_from_a_chinese_client(office, imap_server, tmp_path):
    # Foxmail-style: body labelled gb2312 but holding a GBK-only character (镕), subject and
    # filename as RFC 2047 GBK words.
    raw = reply(DONGHE, "东河区自评表（朱镕基路）", [("东河区自评表镕.docx", form(office, tmp_path))],
                text="附件是我单位的自评表，联系人：朱镕基路 张三。", charset="gbk", gbk_names=True)
    raw = raw.replace(b'charset="gbk"', b'charset="gb2312"')
    deliver(imap_server, office, raw)
    [message] = fetch_mail(office).messages
    assert message.outcome == "accepted", message
    assert message.subject == "东河区自评表（朱镕基路）" and message.files[0]["file"] == "东河区自评表镕.docx"
    from kaoping.notifications.mail.parse import parse_message

    assert "朱镕基路 张三" in parse_message(raw).message.text


def test_html_only_message_without_a_form_gets_one_polite_reply_a_day(office, imap_server):
    html = "<html><head><style>p {color: red}</style></head><body><p>你好，</p><p>请问<b>自评表</b>何时截止？</p></body></html>"
    deliver(imap_server, office, reply(DONGHE, "咨询", text=None, html=html), datetime(2022, 7, 5, 9, 0, tzinfo=TZ))
    deliver(imap_server, office, reply(DONGHE, "再问一次", text=None, html=html), datetime(2022, 7, 5, 10, 0, tzinfo=TZ))
    messages = fetch_mail(office).messages
    assert [m.outcome for m in messages] == ["no_form", "no_form"]
    assert all(m.folder == office.imap_refused_folder for m in messages)
    [answer] = mail_to(office, DONGHE)  # once a day per address
    assert answer.kind == "mail_no_form" and "没有考评表格" in answer.text_body and "咨询" in answer.subject
    from kaoping.notifications.mail.parse import parse_message

    text = parse_message(folder(imap_server, office, office.imap_refused_folder)[0]).message.text
    assert "请问自评表何时截止？" in text and "color" not in text


def test_forwarded_message_attachments_are_taken_in(office, imap_server, tmp_path):
    original = reply(DONGHE, "东河区自评表", [("东河区自评表.docx", form(office, tmp_path))])
    deliver(imap_server, office, reply(DONGHE, "转发：东河区自评表", text="转发给专班。", forwarded=forward_of(original)))
    [message] = fetch_mail(office).messages
    assert message.outcome == "accepted" and [f["file"] for f in message.files] == ["东河区自评表.docx"]


def test_a_zip_of_several_forms_from_the_office(office, imap_server, tmp_path):
    forms = {"东河区自评表.docx": form(office, tmp_path / "a", "150202"),
             "昆都仑区自评表.docx": form(office, tmp_path / "b", "150203")}
    deliver(imap_server, office, reply(office.office_email, "两个单位的自评表", [("自评表.zip", gbk_zip(forms))]))
    [message] = fetch_mail(office).messages
    assert message.outcome == "accepted", message
    assert sorted(f["file"] for f in message.files) == sorted(forms)
    assert counts(office)["Submission"] == 2


def test_a_broken_zip_is_refused_with_its_reason(office, imap_server):
    deliver(imap_server, office, reply(DONGHE, "自评表", [("自评表.zip", b"PK\x03\x04 not really a zip")]))
    [message] = fetch_mail(office).messages
    assert message.outcome == "refused" and message.folder == office.imap_refused_folder
    [refusal] = mail_to(office, DONGHE)
    assert refusal.kind == "return_refused" and "压缩包" in refusal.text_body


@pytest.mark.parametrize("headers,sender", [
    ({"Auto-Submitted": "auto-replied"}, DONGHE),
    ({"X-Autoreply": "yes"}, DONGHE),
    ({"Precedence": "bulk"}, DONGHE),
    ({}, "MAILER-DAEMON@baotou.example"),
    ({}, "kaoping@baotou.example"),  # our own address: no loop
])
def test_automatic_mail_is_never_answered(office, imap_server, headers, sender):
    deliver(imap_server, office, reply(sender, "自动回复：收到", text="您的邮件已收到，我休假中。", headers=headers))
    [message] = fetch_mail(office).messages
    assert message.outcome == "automatic" and message.folder == office.imap_refused_folder
    assert mail_to(office, sender.lower()) == [] and mail_to(office, DONGHE) == []


def test_a_message_without_message_id_gets_a_stable_digest_id(office, imap_server, tmp_path):
    raw = reply(DONGHE, "自评表", [("自评表.docx", form(office, tmp_path))], message_id="")
    deliver(imap_server, office, raw)
    deliver(imap_server, office, raw)
    messages = fetch_mail(office).messages
    assert [m.outcome for m in messages] == ["accepted", "already"]
    [row] = records(office)
    assert row.message_id.startswith("<sha256.") and counts(office)["Submission"] == 1


def test_the_batch_size_bounds_one_run(office, imap_server):
    for n in range(3):
        deliver(imap_server, office, reply(DONGHE, f"咨询 {n}", text="请问截止日期？"))
    report = fetch_mail(office, limit=2)
    assert len(report.messages) == 2 and report.waiting == 1
    assert len(fetch_mail(office).messages) == 1


def test_an_unanswerable_sender_does_not_stop_the_messages_after_it(office, imap_server, tmp_path):
    deliver(imap_server, office, reply("东河区联络员 <liaison@@broken>", "自评表", [("a.docx", form(office, tmp_path / "a"))]))
    deliver(imap_server, office, reply(DONGHE, "自评表", [("b.docx", form(office, tmp_path / "b"))]))
    first, second = fetch_mail(office).messages
    assert first.outcome == "automatic" and "发件人地址无效" in first.summary and first.folder == office.imap_refused_folder
    assert second.outcome == "accepted" and counts(office)["Submission"] == 1


def test_a_second_fetch_at_the_same_time_takes_nothing(office, imap_server, tmp_path):
    """The intake flow and an operator's `kaoping mail fetch` at once: the one holding the mailbox
    takes the message; the other takes nothing (busy), so nothing is handled twice."""
    from kaoping.adapters.locks import exclusive

    raw = reply(DONGHE, "自评表", [("自评表.docx", form(office, tmp_path))])
    deliver(imap_server, office, raw)
    name = f"mailbox:{office.imap_host}:{office.imap_port}:{office.imap_user}:{office.imap_folder}"
    with exclusive(office, name) as first:  # the other fetch, in the middle of its run
        assert first
        report = fetch_mail(office)
        assert report.busy and report.messages == [] and records(office) == []
        assert folder(imap_server, office, "INBOX") == [raw]
    [message] = fetch_mail(office).messages
    assert message.outcome == "accepted" and counts(office)["Submission"] == 1 and len(mail_to(office, DONGHE)) == 1


def test_receipts_and_refusals_answer_in_the_thread_of_the_return(office, imap_server, smtp, tmp_path):
    """Issue 26 item 6: every answer to an incoming email names it (In-Reply-To) and its thread (References),
    as sent over SMTP, so the unit's mail client shows the 【回执】 under what it sent; the subjects stay kaoping's."""
    from kaoping.notifications.delivery import send_pending

    from tests.smtp_server import mail_settings

    earlier = ["<form-email@baotou.example>", "<an-earlier-reply@unit.example>"]
    good = reply(DONGHE, "回复：东河区自评表", [("东河区自评表.docx", form(office, tmp_path))], message_id="<good@unit.example>",
                 headers={"In-Reply-To": earlier[-1], "References": " ".join(earlier)})
    broken = reply(KUNDULUN, "回复：昆都仑区自评表", [("自评表.docx", b"not a word file")], message_id="<broken@unit.example>",
                   headers={"In-Reply-To": earlier[0], "References": earlier[0]})
    question = reply(DONGHE, "请问截止时间", [], message_id="<question@unit.example>")
    for raw in (good, broken, question):
        deliver(imap_server, office, raw, datetime(2022, 7, 5, 16, 20, tzinfo=TZ))
    fetch_mail(office)
    send_pending(mail_settings(office, smtp.port))
    kinds = {}
    for message in smtp.received:
        kinds.setdefault(str(message.message["X-Kaoping-Kind"]), []).append(message.message)
    [receipt] = kinds["return_received"]
    assert receipt["In-Reply-To"] == "<good@unit.example>"
    assert receipt["References"].split() == [*earlier, "<good@unit.example>"]
    assert receipt["Subject"].startswith("【回执】") and receipt["Date"].endswith("+0800")
    [refusal] = kinds["return_refused"]
    assert refusal["To"] == KUNDULUN and refusal["In-Reply-To"] == "<broken@unit.example>"
    assert refusal["References"].split() == [earlier[0], "<broken@unit.example>"]
    [no_form] = kinds["mail_no_form"]
    assert no_form["In-Reply-To"] == "<question@unit.example>" and no_form["References"] == "<question@unit.example>"
