"""The outbox against a real SMTP server on loopback: what the server receives, connection
reuse, STARTTLS and AUTH, and the fault cases — nothing lost, nothing sent twice except in
the one documented crash window."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta

import pytest
from kaoping.models import MessageStatus, OutboxMessage
from kaoping.models.types import fixed_clock
from kaoping.notifications import delivery
from kaoping.notifications.outbox import queue
from sqlmodel import select

from kaoping import db
from tests.factories import outbox_statuses, queue_mail
from tests.smtp_server import SmtpServer, free_port, mail_settings, self_signed_cert


#: The outbox's rows — queued once, claimed once by a pool, kept through a kill — on PostgreSQL too; the SMTP
#: conversation (TLS, replies, pipelining) does not depend on the database (SQLite only: tests/conftest.py).
BOTH_BACKENDS = {"test_what_the_server_receives",
                 "test_queue_is_idempotent_and_validates_addresses",
                 "test_a_pool_of_connections_sends_each_message_once",
                 "test_process_killed_between_send_and_mark"}


def test_what_the_server_receives(migrated, smtp):
    s = mail_settings(migrated, smtp.port)
    payload = bytes(range(256)) * 400
    queue_mail(s, attachment=payload)
    report = delivery.send_pending(s)
    assert report.sent and not report.failed
    [got] = smtp.received
    assert sorted(got.rcpt_tos) == ["liaison@150202.baotou.example", "zhuanban@baotou.example"]
    raw = got.raw.decode("ascii")
    assert "Subject: =?utf-8?" in raw  # Chinese subject encoded (RFC 2047)
    message = got.message
    assert message["Subject"] == "【考评】请填报2022年上半年数字政府建设考评自评表（0）"
    assert message["Message-ID"].startswith("<kaoping.") and message["X-Kaoping-Kind"] == "form_issued"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "2022H1-ZP001-东河区-自评表.docx"
    assert hashlib.sha256(attachment.get_content()).hexdigest() == hashlib.sha256(payload).hexdigest()
    assert message.get_body(("plain",)).get_content().strip() == "您好，第 0 封。"
    assert "<p>您好" in message.get_body(("html",)).get_content()
    assert outbox_statuses(s) == {"m-0": MessageStatus.sent}


def test_the_date_header_is_in_the_office_time_zone(migrated, smtp):
    s = mail_settings(migrated, smtp.port)
    with fixed_clock(datetime(2022, 7, 8, 17, 30, tzinfo=UTC)):
        queue_mail(s)
    with fixed_clock(datetime(2022, 7, 11, 1, 0, tzinfo=UTC)):  # sent (a retry got through) days later
        delivery.send_pending(s)
    [got] = smtp.received
    # 17:30 UTC is already 7月9日 01:30 in Beijing: the header says so, never +0000 — the day the letter was
    # written (queued), as its 落款 says, not the day a retry got it through.
    assert got.message["Date"] == "Sat, 09 Jul 2022 01:30:00 +0800"


def test_queue_is_idempotent_and_validates_addresses(migrated):
    queue_mail(migrated)
    queue_mail(migrated)
    assert len(outbox_statuses(migrated)) == 1
    from kaoping.domain.errors import InvalidInput

    with pytest.raises(InvalidInput, match="无效"):
        queue_mail(migrated, to="not-an-address", key="bad")


def test_one_connection_for_a_batch(migrated, smtp):
    s = mail_settings(migrated, smtp.port, smtp_connections=1)
    queue_mail(s, 5)
    report = delivery.send_pending(s)
    assert len(report.sent) == 5 and report.connections == 1 and smtp.handler.sessions == 1
    assert delivery.send_pending(s).sent == []  # nothing pending: nothing sent again


def test_a_pool_of_connections_sends_each_message_once(migrated, smtp):
    s = mail_settings(migrated, smtp.port, smtp_connections=3)
    queue_mail(s, 45)
    report = delivery.send_pending(s)
    assert sorted(report.sent) == list(range(1, 46)) and not report.failed
    assert report.connections == 3 and smtp.handler.sessions == 3  # the pool is bounded: three, each kept open
    ids = [r.message["Message-ID"] for r in smtp.received]
    assert len(ids) == 45 and len(set(ids)) == 45
    with db.session_scope(s) as session:
        rows = session.exec(select(OutboxMessage)).all()
    assert {(m.status, m.claimed_by, m.claimed_until) for m in rows} == {(MessageStatus.sent, "", None)}


def test_starttls_and_auth(migrated, tmp_path):
    cert, key = self_signed_cert(tmp_path)
    server = SmtpServer(tls=(cert, key), require_starttls=True, users={"kaoping": "s3cret-pw"}).start()
    try:
        s = mail_settings(migrated, server.port, smtp_security="starttls", smtp_user="kaoping", smtp_password="s3cret-pw",
                          smtp_ca_file=cert)
        queue_mail(s)
        assert delivery.send_pending(s).sent
        assert len(server.received) == 1
        wrong = mail_settings(migrated, server.port, smtp_security="starttls", smtp_user="kaoping", smtp_password="wrong",
                              smtp_ca_file=cert)
        queue_mail(wrong, key="again")
        report = delivery.send_pending(wrong)
        assert report.failed and "535" in report.failed[0][1]  # authentication failed: the server's words
    finally:
        server.stop()


def test_refused_connection_then_recovery(migrated, caplog):
    port = free_port()
    s = mail_settings(migrated, port)
    queue_mail(s, 3)
    with caplog.at_level(logging.WARNING, logger="kaoping.mail"):
        report = delivery.send_pending(s)
    assert len(report.deferred) == 3 and not report.sent and not report.failed
    assert "重试" in caplog.text  # every retry is logged
    assert set(outbox_statuses(s).values()) == {MessageStatus.pending}  # nothing lost
    server = SmtpServer(port=port).start()
    try:
        assert len(delivery.send_pending(s).sent) == 3
        assert len(server.received) == 3
    finally:
        server.stop()


def test_421_and_451_then_success(migrated, smtp):
    s = mail_settings(migrated, smtp.port)
    smtp.handler.data_replies = ["421 4.7.0 Try again later", "451 4.3.0 Temporary failure"]
    queue_mail(s)
    report = delivery.send_pending(s)
    assert report.sent and len(smtp.received) == 1


def test_550_for_one_recipient_does_not_stop_the_batch(migrated, smtp):
    s = mail_settings(migrated, smtp.port)
    smtp.handler.refuse = {"liaison@150203.baotou.example"}
    with db.session_scope(s) as session:
        for code in ("150202", "150203", "150204"):
            queue(session, s, key=f"k-{code}", kind="reminder", to=[f"liaison@{code}.baotou.example"], subject="提醒",
                  text="请按时报送。")
    report = delivery.send_pending(s)
    assert len(report.sent) == 2 and len(report.failed) == 1
    assert "550 5.1.1" in report.failed[0][1] and "User unknown" in report.failed[0][1]
    assert outbox_statuses(s) == {"k-150202": "sent", "k-150203": "failed", "k-150204": "sent"}
    with db.session_scope(s) as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")).one()
        assert "User unknown" in failed.last_error


def test_connection_dropped_in_the_middle_of_data(migrated, smtp):
    s = mail_settings(migrated, smtp.port)
    smtp.handler.drop_next_data = 1
    queue_mail(s, 2)
    report = delivery.send_pending(s)
    assert len(report.sent) == 2
    ids = [r.message["Message-ID"] for r in smtp.received]
    assert len(ids) == 2 and len(set(ids)) == 2  # each delivered exactly once


@pytest.mark.parametrize("offered", [True, False], ids=["pipelining", "no-pipelining"])
def test_pipelining_only_when_offered_with_every_reply_checked(migrated, smtp, offered):
    """RFC 2920: MAIL, RCPT and DATA in one write when the server offers PIPELINING, never otherwise; the
    replies read in order give the outcomes the step-by-step dialogue gives — a recipient refused (the rest
    delivered), every recipient refused (nothing sent, the transaction reset, the batch goes on), 4xx to DATA
    retried, a drop in the middle of the data retried on a new connection."""
    s = mail_settings(migrated, smtp.port, smtp_connections=1)
    smtp.handler.pipelining = offered
    smtp.handler.refuse = {"gone@150203.baotou.example", "zhuanban@baotou.example"}
    with db.session_scope(s) as session:
        queue(session, s, key="a", kind="reminder", to=["liaison@150202.baotou.example"], subject="提醒", text="第一封。")
        queue(session, s, key="b", kind="reminder", to=["gone@150203.baotou.example"], subject="提醒", text="第二封。")
        queue(session, s, key="c", kind="reminder", to=["liaison@150204.baotou.example"], cc=["zhuanban@baotou.example"],
              subject="提醒", text="第三封。")
        queue(session, s, key="d", kind="reminder", to=["liaison@150205.baotou.example"], subject="提醒", text="第四封。")
        queue(session, s, key="e", kind="reminder", to=["liaison@150206.baotou.example"], subject="提醒", text="第五封。")
    report = delivery.send_pending(s)
    assert outbox_statuses(s) == {"a": "sent", "b": "failed", "c": "failed", "d": "sent", "e": "sent"}
    failed = dict(report.failed)
    assert "User unknown" in failed[2] and "部分收件人被拒收" in failed[3]  # c reached its unit, not the copy
    assert [sorted(r.rcpt_tos) for r in smtp.received] == [
        ["liaison@150202.baotou.example"], ["liaison@150204.baotou.example"], ["liaison@150205.baotou.example"],
        ["liaison@150206.baotou.example"]]
    assert set(smtp.handler.mail_pipelined) == {offered}

    smtp.handler.refuse = set()
    smtp.handler.data_replies = ["451 4.3.0 Temporary failure"]
    queue_mail(s, 2, key="later")
    smtp.handler.drop_next_data = 1  # the first DATA dropped midway: nothing stored, sent again on a new connection
    report = delivery.send_pending(s)
    assert len(report.sent) == 2 and not report.failed
    later = [r for r in smtp.received if r.message["Subject"].startswith("【考评】")]
    assert len(later) == 2 and len({r.message["Message-ID"] for r in later}) == 2
    assert set(smtp.handler.mail_pipelined) == {offered}


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing in kaoping catches it."""


def test_process_killed_between_send_and_mark(migrated, smtp, monkeypatch):
    """The crash window: the wire runs at most ``UNRECORDED`` messages ahead of the committed records
    (the desk records behind it), so a sender that dies repeats at most those and the one on the wire."""
    s = mail_settings(migrated, smtp.port, smtp_connections=1)
    queue_mail(s, delivery.CLAIM_CHUNK)  # one claim
    real_record = delivery._record
    calls = {"n": 0}

    def dies_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise Killed()
        return real_record(*args, **kwargs)

    monkeypatch.setattr(delivery, "_record", dies_on_second)
    with pytest.raises(Killed):
        delivery.send_pending(s)
    monkeypatch.setattr(delivery, "_record", real_record)
    statuses = outbox_statuses(s)
    recorded = {k for k, v in statuses.items() if v == "sent"}
    held = {k for k, v in statuses.items() if v == "sending"}
    # The first record was committed; the dead sender holds the rest of its claim (nothing pending, nothing lost).
    assert "m-0" in recorded and held and recorded | held == set(statuses)
    handed_over = len(smtp.received)
    assert delivery.send_pending(s).sent == []  # its lease still holds: no other sender takes them yet
    with fixed_clock(datetime.now(UTC) + timedelta(seconds=s.smtp_claim_seconds + 1)):
        report = delivery.send_pending(s)  # the lease ran out: the next sender delivers what it held
    assert len(report.sent) == len(held)
    ids = [r.message["Message-ID"] for r in smtp.received]
    assert len(set(ids)) == delivery.CLAIM_CHUNK and max(ids.count(i) for i in ids) <= 2  # every message out, none more than twice
    # What went out twice (same Message-ID) is what was handed over and not recorded: at most the window.
    twice = len(ids) - delivery.CLAIM_CHUNK
    assert twice == handed_over - len(recorded) and twice <= delivery.UNRECORDED + 1
    with db.session_scope(s) as session:
        again = {r.message_id for r in session.exec(select(OutboxMessage)) if r.idempotency_key in held}
    assert {i for i in ids if ids.count(i) == 2} <= again


def test_every_message_type_has_a_template(settings):
    from kaoping.notifications.render import KINDS, render

    context = dict(greeting="东河区", period="2022年上半年", form_label="自评表", form_no="2022H1-ZP001",
                   form_kind="self_assessment", deadline="7月8日（星期五）", deadline_day="7月8日", about="", units=36,
                   file_name="自评表.docx", received="7月5日10:00", to_unit=False, summary="自评表已收到：90 项指标", late=True, reason="第 2 行“完成进度”列未填写",
                   items=[{"form_label": "自评表", "form_no": "2022H1-ZP001", "deadline": "7月8日（星期五）", "days_left": 3,
                           "days_over": 2}], unit="东河区", date="6月28日（星期二）", time="上午9:00—12:00",
                   members=["张三", "李四"], location="东河区政务服务中心", stage="专班核实", code="428913",
                   valid_until="7月20日10:00", documents=["通报", "报告"], brief=["签字的含义：……"], upward=False,
                   checklist="市工信局：自评项 2 项，待核实")
    for kind in KINDS:
        rendered = render(kind, settings, **context)
        assert rendered.subject and "{" not in rendered.subject, kind
        assert rendered.text.strip() and settings.office_name in rendered.text, kind
        assert rendered.html.startswith("<!DOCTYPE html>") and "东河区" in rendered.html or kind == "report_distribution"


def test_implicit_tls(migrated, tmp_path):
    cert, key = self_signed_cert(tmp_path)
    server = SmtpServer(tls=(cert, key), implicit_tls=True).start()
    try:
        s = mail_settings(migrated, server.port, smtp_security="ssl", smtp_ca_file=cert)
        queue_mail(s)
        assert delivery.send_pending(s).sent and len(server.received) == 1
    finally:
        server.stop()
