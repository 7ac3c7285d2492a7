"""Issue 14, item 2: nothing stops the outbox. Real SMTP servers on loopback that misbehave:
a missing attachment, STARTTLS required but not offered, a login refused, a connection dropped
after the end of the data (once, twice); attachments shared by workers with different var/."""

from __future__ import annotations

from kaoping.models import MessageStatus, OutboxBlob, OutboxMessage
from kaoping.notifications import delivery
from kaoping.notifications.outbox import Attachment, queue
from sqlalchemy import delete
from sqlmodel import select

from kaoping import db
from tests.smtp_server import Handler, Received, SmtpServer, mail_settings, self_signed_cert


def put(settings, keys: list[str], *, attachment: dict[str, bytes] | None = None) -> None:
    with db.session_scope(settings) as session:
        for key in keys:
            data = (attachment or {}).get(key)
            files = [Attachment(f"2022H1-{key}-反馈函.docx", data)] if data else []
            queue(session, settings, key=key, kind="report_distribution", to=[f"{key}@150202.baotou.example"],
                  subject=f"【考评】反馈函 {key}", text=f"您好，{key}。", attachments=files, cycle_code="2022H1")


def rows(settings) -> dict[str, OutboxMessage]:
    with db.session_scope(settings) as session:
        return {m.idempotency_key: m for m in session.exec(select(OutboxMessage))}


def test_missing_attachment_fails_that_message_and_the_rest_are_sent(migrated, smtp, initialized):
    s = mail_settings(migrated, smtp.port)
    put(s, ["a", "b", "c"], attachment={"b": b"PK\x03\x04 letter b"})
    with db.session_scope(s) as session:  # the attachment's bytes are gone (storage lost, row deleted)
        session.execute(delete(OutboxBlob))
    report = delivery.send_pending(s)
    assert len(report.sent) == 2 and len(report.failed) == 1
    got = rows(s)
    assert got["b"].status == MessageStatus.failed and "附件缺失" in got["b"].last_error
    assert got["a"].status == got["c"].status == MessageStatus.sent
    assert delivery.send_pending(s).sent == []  # the next run does not stop on it either
    cli = initialized
    cli.env.update({"KAOPING_SMTP_HOST": "127.0.0.1", "KAOPING_SMTP_PORT": str(smtp.port)})
    listed = cli("outbox", "list", "--failed")
    assert listed.exit_code == 0 and "附件缺失" in listed.output


def test_attachments_are_shared_by_workers_with_their_own_var_dir(migrated, smtp, tmp_path):
    worker_a = mail_settings(migrated, smtp.port, var_dir=tmp_path / "worker-a")
    worker_b = mail_settings(migrated, smtp.port, var_dir=tmp_path / "worker-b")
    put(worker_a, ["letter"], attachment={"letter": b"PK\x03\x04 the letter"})
    assert not (tmp_path / "worker-a" / "outbox").exists()  # nothing on the local disk
    report = delivery.send_pending(worker_b)
    assert report.sent and not report.failed
    parts = [p for p in smtp.received[0].message.iter_attachments()]
    assert parts[0].get_content() == b"PK\x03\x04 the letter"


def test_starttls_required_but_not_offered_lands_in_failed(migrated, smtp):
    s = mail_settings(migrated, smtp.port, smtp_security="starttls", smtp_attempts=5)
    put(s, ["a", "b"])
    report = delivery.send_pending(s)
    assert report.stopped and "STARTTLS" in report.stopped
    got = rows(s)
    assert got["a"].status == MessageStatus.failed and "STARTTLS" in got["a"].last_error
    assert got["a"].attempts == 1  # not retried
    assert got["b"].status == MessageStatus.pending  # the batch stopped; nothing lost
    assert smtp.received == []  # nothing went out in clear text


def test_login_refused_is_a_clear_failure_without_traceback(initialized, settings, tmp_path):
    cert, key = self_signed_cert(tmp_path)
    server = SmtpServer(tls=(cert, key), require_starttls=True, users={"kaoping": "right"}).start()
    try:
        s = mail_settings(settings, server.port)
        put(s, ["a"])
        cli = initialized
        cli.env.update({"KAOPING_SMTP_HOST": "127.0.0.1", "KAOPING_SMTP_PORT": str(server.port),
                        "KAOPING_SMTP_SECURITY": "starttls", "KAOPING_SMTP_CA_FILE": str(cert),
                        "KAOPING_SMTP_USER": "kaoping", "KAOPING_SMTP_PASSWORD": "wrong"})
        result = cli("outbox", "send")
        assert result.exit_code != 0
        assert "SMTP 登录被拒绝" in result.output and "KAOPING_SMTP_PASSWORD" in result.output
        assert "Traceback" not in result.output
    finally:
        server.stop()


class StoresThenDrops(Handler):
    """A server that stores the message and drops the connection before its reply."""

    drops: int = 0

    async def handle_DATA(self, server, session, envelope):
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        if self.drops:
            self.drops -= 1
            server.transport.close()
            return "421 closing"
        return "250 2.0.0 Ok: queued"


def _server_with(handler: Handler) -> SmtpServer:
    server = SmtpServer()
    server.handler = handler
    server.controller.handler = handler
    return server.start()


def test_drop_after_end_of_data_is_uncertain_and_retried_once_with_the_same_message_id(migrated):
    handler = StoresThenDrops()
    handler.drops = 1
    server = _server_with(handler)
    try:
        s = mail_settings(migrated, server.port, smtp_attempts=5)
        put(s, ["a", "b"])
        report = delivery.send_pending(s)
        assert len(report.sent) == 2
        ids = [r.message["Message-ID"] for r in server.received]
        assert len(ids) == 3 and len(set(ids)) == 2  # one duplicate, with the same Message-ID, not five
        first = rows(s)["a"]
        assert first.status == MessageStatus.sent and "可能收到两封" in first.last_error
    finally:
        server.stop()


def test_two_drops_after_end_of_data_mark_it_failed_not_retried_forever(migrated):
    handler = StoresThenDrops()
    handler.drops = 2
    server = _server_with(handler)
    try:
        s = mail_settings(migrated, server.port, smtp_attempts=5)
        put(s, ["a"])
        report = delivery.send_pending(s)
        assert report.failed and not report.sent
        row = rows(s)["a"]
        assert row.status == MessageStatus.failed and "可能已送达" in row.last_error
        assert delivery.send_pending(s).sent == [] and len(server.received) == 2
    finally:
        server.stop()
