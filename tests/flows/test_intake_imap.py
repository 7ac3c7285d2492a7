"""The intake flow over IMAP (KAOPING_IMAP_HOST set): under a real Prefect server, with a real
dovecot and a real SMTP server on loopback — a unit replies with its form and gets a receipt
without anyone touching a folder."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import docx
import pytest
from imapclient import IMAPClient
from kaoping.models import FormKind, IssuedForm, MailboxMessage, Submission
from sqlmodel import select

from kaoping import db
from kaoping.adapters.word.layout import fill_cell
from kaoping.settings import get_settings
from tests.factories import build, open_cycle
from tests.imap_mail import reply


@pytest.fixture
def mailbox_flow_env(flow_env, monkeypatch, imap_server, tmp_path) -> str:
    """`flow_env` with the office mailbox of its own on the session's dovecot, 2022H1 open and 市卫健委's
    self-assessment out (due 2022-07-06); returns the mailbox's user."""
    user = f"flow-{tmp_path.name}@kaoping.test"
    for key, value in {**imap_server.env(), "KAOPING_IMAP_USER": user, "KAOPING_INBOX_DIR": str(tmp_path / "inbox")}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    open_cycle(flow_env)
    build(flow_env, FormKind.self_assessment, tmp_path, "wjw", deadline=date(2022, 7, 6))
    return user


def test_intake_flow_fetches_from_the_mailbox_and_replies(mailbox_flow_env, settings, smtp, imap_server, tmp_path):
    from kaoping.flows.daily import intake

    user = mailbox_flow_env
    with db.session_scope(settings) as session:
        path = session.exec(select(IssuedForm.path).where(IssuedForm.subject == "wjw")).one()
    document = docx.Document(path)
    table = next(t for t in document.tables if len(t.rows[0].cells) == 7)
    fill_cell(table.rows[1].cells[5], "完成")
    document.save(tmp_path / "卫健委自评表.docx")
    with IMAPClient("127.0.0.1", port=imap_server.port, ssl=False) as client:
        client.login(user, imap_server.password)
        client.append("INBOX", reply("liaison@wjw.baotou.example", "回复：自评表", [("卫健委自评表.docx", (tmp_path / "卫健委自评表.docx").read_bytes())]),
                      msg_time=datetime(2022, 7, 7, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    outcomes = intake()
    assert [(o["file"], o["accepted"], o["late"]) for o in outcomes] == [("卫健委自评表.docx", True, True)]
    [receipt] = smtp.received
    assert receipt.rcpt_tos == ["liaison@wjw.baotou.example"] and "回执" in receipt.message["Subject"]
    with db.session_scope(settings) as session:
        assert session.exec(select(Submission)).one().unit_id
        assert session.exec(select(MailboxMessage)).one().status == "moved"
    assert not (tmp_path / "inbox").exists() or not any((tmp_path / "inbox").iterdir())  # the folder is not used
    assert intake() == []  # a re-run finds nothing
