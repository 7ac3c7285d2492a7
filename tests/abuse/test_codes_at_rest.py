"""Issue 24, attack 6, repeated: a sign-off code was readable at rest. A signer's reply refused for
its wording ("好的，收到…", quoting the email) was kept raw in ``var/received/`` with the still-valid
code in the quote, and the code then signed from the CLI; a batch stopped by a STARTTLS failure left
the code in the failed outbox row; with another connection open (as a worker holds one) the blanked
code was still in the SQLite file and its WAL.

Now a refused reply (or any message) showing a pending code spends it; the outbox never holds the
code in the clear — it waits sealed under the secret and the seal is dropped after the attempt,
sent, failed or stopped; SQLite zeroes what it deletes (``secure_delete``)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from kaoping.models import MessageStatus, OutboxMessage, SignoffRequest
from kaoping.notifications import delivery
from kaoping.notifications.mailbox import fetch_mail
from sqlalchemy import text
from sqlmodel import select

from kaoping import db
from kaoping.services.signoff.signatures import ask_signer
from kaoping.settings import Settings
from tests.factories import emailed_code, scored_cycle
from tests.imap_mail import deliver, reply
from tests.smtp_server import SmtpServer, mail_settings

ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the file itself is looked at


def ask(settings) -> tuple[str, OutboxMessage]:
    with db.session_scope(settings) as session:
        ask_signer(session, settings, cycle_code="2022H1", stage="verification", flow_run_id="", link="", actor="flow:test")
    with db.session_scope(settings) as session:
        email = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_request")
                             .order_by(OutboxMessage.id.desc())).first()
        session.expunge(email)
    return emailed_code(settings), email


def code_in_clear(data: bytes, code: str) -> bool:
    """The code as the email shows it ("验证码：123456", in text or HTML), in raw bytes."""
    return re.search("验证码：(?:<strong[^>]*>)?".encode() + code.encode(), data) is not None


def database_bytes(settings: Settings) -> bytes:
    path = Path(settings.effective_database_url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def request_status(settings) -> str:
    with db.session_scope(settings) as session:
        return session.exec(select(SignoffRequest).order_by(SignoffRequest.id.desc())).first().status


@ON_SQLITE
def test_a_refused_reply_quoting_the_code_spends_it_so_its_kept_copy_signs_nothing(imap_settings, imap_server, tmp_path):
    settings = imap_settings
    scored_cycle(settings, tmp_path)
    code, email = ask(settings)
    quoted = email.text_body.replace("●●●●●●", code)  # the email as the signer received it
    raw = reply(settings.verifier_email, f"回复：{email.subject}", text=f"好的，收到，我看一下。\n\n-----原始邮件-----\n"
                f"发件人：{settings.mail_from}\n主题：{email.subject}\n\n{quoted}",
                headers={"In-Reply-To": email.message_id, "References": email.message_id})
    deliver(imap_server, settings, raw)
    [message] = fetch_mail(settings).messages
    assert message.outcome == "reply" and "签字未生效" in message.summary
    from kaoping.notifications.mail.parse import parse_message

    kept = [parse_message(p.read_bytes()).message.text for p in settings.received_dir.rglob("*") if p.is_file()]
    assert any(code in body for body in kept)  # the raw message is kept, quote and code included …
    assert request_status(settings) == "spent"  # … and the code in it is void
    from typer.testing import CliRunner

    from tests.conftest import Cli, cli_env

    result = Cli(CliRunner(), cli_env(settings))("signoff", "give", "--cycle", "2022H1", "--stage", "verification",
                                                 "--code", code, "--approve")
    assert result.exit_code != 0 and "没有待签" in result.output


def test_a_message_that_shows_a_pending_code_spends_it_even_if_it_is_no_reply(initialized, settings, tmp_path):
    from datetime import UTC, datetime

    from kaoping.domain.incoming import IncomingMessage
    from kaoping.notifications.mailbox import route_text_reply

    scored_cycle(settings, tmp_path)
    code, email = ask(settings)
    forwarded = IncomingMessage("<fw@mail.baotou.example>", "mishu@baotou.example", f"转发：{email.subject}",
                                f"请帮我看看\n\n---------- 转发的邮件 ----------\n您的一次性验证码：{code}", datetime.now(UTC))
    with db.session_scope(settings) as session:
        route_text_reply(session, settings, forwarded)
    assert request_status(settings) == "spent"


@ON_SQLITE
def test_a_batch_stopped_by_starttls_keeps_no_code_in_the_failed_row(initialized, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    code, _ = ask(settings)
    server = SmtpServer().start()  # offers no STARTTLS
    try:
        report = delivery.send_pending(mail_settings(settings, server.port, smtp_security="starttls"))
    finally:
        server.stop()
    assert report.stopped and "STARTTLS" in report.stopped
    with db.session_scope(settings) as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_request")).one()
    assert row.status == MessageStatus.failed and row.sealed_secret == ""
    assert code not in row.text_body + row.html_body + row.last_error and "重新提请签字" in row.last_error
    assert not code_in_clear(database_bytes(settings), code)
    assert delivery.retry_failed(settings) == 0  # a code-less sign-off email is not sent again: a new request is


@ON_SQLITE
def test_the_code_never_reaches_the_sqlite_file_or_its_wal_even_with_another_connection_open(initialized, settings,
                                                                                             tmp_path):
    scored_cycle(settings, tmp_path)
    path = settings.effective_database_url.removeprefix("sqlite:///")
    reader = sqlite3.connect(path)  # a worker's connection holding a read snapshot: no checkpoint can finish
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM outbox_message").fetchone()
    try:
        code, _ = ask(settings)
        assert not code_in_clear(database_bytes(settings), code)  # queued: sealed, never in the clear
        server = SmtpServer().start()
        try:
            assert delivery.send_pending(mail_settings(settings, server.port)).sent
            assert code in server.received[-1].message.get_body(("plain",)).get_content()  # the signer gets it
        finally:
            server.stop()
        data = database_bytes(settings)
        assert not code_in_clear(data, code)
    finally:
        reader.rollback()
        reader.close()
    with db.session_scope(settings) as session:
        assert session.execute(text("PRAGMA secure_delete")).scalar() == 1
        row = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_request")).one()
    assert row.sealed_secret == "" and "●●●●●●" in row.text_body  # the seal dropped once handed over
