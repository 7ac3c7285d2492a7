"""Two senders at once (issue 25 item 4, issue 29 item 3): the cycle's ``send_outbox`` and the intake's
replies run in different flows, the README allows more than one worker, and each worker sends over a
pool of connections. Two processes start on the same batch at the same moment; every message reaches
the SMTP server once, and each is recorded sent once, on SQLite (a lease under the write lock) and on
PostgreSQL (``FOR UPDATE SKIP LOCKED``). A sender that dies holding messages lets them go when its
lease runs out — not before (test_mail.py, the process killed between send and mark)."""

from __future__ import annotations

import multiprocessing
from collections import Counter

from kaoping.models import MessageStatus, OutboxMessage
from kaoping.notifications import delivery
from kaoping.notifications.outbox import queue
from sqlmodel import select

from kaoping import db
from kaoping.settings import Settings
from tests.smtp_server import SmtpServer

MESSAGES = 120


def _sender(values: dict, start, results) -> None:
    """One sender process: waits for the other, then sends what it can claim."""
    settings = Settings(**values, _env_file=None)
    start.wait(60)
    report = delivery.send_pending(settings)
    results.put((sorted(report.sent), report.failed, getattr(report, "lost", [])))


def test_two_processes_sending_one_batch_deliver_each_message_once(migrated):
    server = SmtpServer().start()
    try:
        s = Settings(**{**migrated.model_dump(), "smtp_host": "127.0.0.1", "smtp_port": server.port,
                        "smtp_retry_initial": 0.01, "smtp_retry_max": 0.05, "smtp_connections": 2}, _env_file=None)
        with db.session_scope(s) as session:
            for i in range(MESSAGES):
                queue(session, s, key=f"batch-{i}", kind="reminder", to=[f"liaison{i}@150202.baotou.example"],
                      subject=f"【考评】催报（{i}）", text=f"您好，第 {i} 封。", cycle_code="2022H1")
        context = multiprocessing.get_context("spawn")
        start, results = context.Barrier(2), context.Queue()
        senders = [context.Process(target=_sender, args=(s.model_dump(), start, results)) for _ in range(2)]
        for p in senders:
            p.start()
        reports = [results.get(timeout=180) for _ in senders]
        for p in senders:
            p.join(60)
            assert p.exitcode == 0
    finally:
        server.stop()

    sent = [set(r[0]) for r in reports]
    assert all(r[1] == [] and r[2] == [] for r in reports)  # nothing failed, no claim lost
    assert sent[0] and sent[1], "both senders took part"
    assert not sent[0] & sent[1]  # no message recorded by both
    assert len(sent[0] | sent[1]) == MESSAGES
    ids = Counter(r.message["Message-ID"] for r in server.received)
    assert len(ids) == MESSAGES and set(ids.values()) == {1}  # each Message-ID delivered once
    with db.session_scope(s) as session:
        rows = session.exec(select(OutboxMessage)).all()
    assert {r.status for r in rows} == {MessageStatus.sent} and {r.attempts for r in rows} == {1}
    assert {r.message_id for r in rows} == set(ids)
