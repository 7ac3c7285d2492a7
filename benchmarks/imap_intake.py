"""600 returned forms fetched and recorded over IMAP (issue 15): time and peak memory.

A private dovecot on loopback (``kaoping.notifications.mail.imap_server``) holds 600 replies, each with
a filled self-assessment form attached (Baotou's 36 units, each returning ~17 versions, every one
filled differently: each is a full intake that supersedes the one before), delivered with IMAP
APPEND by a preparing process. Then this process — nothing else loaded before — runs
``fetch_mail`` once over all of them, as ``kaoping mail fetch`` does: fetch one message at a time,
record it (raw bytes kept), take its form in (checks, recording, receipt queued), move it to the
processed folder. Peak RSS (``resource.getrusage``) of this process; dovecot is a child process and
not counted. On SQLite (the embedded default).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RETURNS = 600


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _settings(workdir: Path, port: int, user: str, password: str):
    from kaoping.settings import Settings, SmtpSecurity

    return Settings(database_url=f"sqlite:///{workdir / 'bench.sqlite3'}", var_dir=workdir / "var", environment="development",
                    imap_host="127.0.0.1", imap_port=port, imap_security=SmtpSecurity.none, imap_user=user,
                    imap_password=password, _env_file=None)


def prepare(workdir: Path, port: int, user: str, password: str) -> None:
    """Another process: the database, the cycle, the issued forms and the 600 replies in the mailbox."""
    from datetime import date, datetime, timedelta
    from email.mime.application import MIMEApplication
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText
    from email.utils import make_msgid

    from imapclient import IMAPClient
    from kaoping.models import FormKind

    from kaoping import db
    from kaoping.demo.people import People, issued_forms
    from kaoping.domain.policy import load_policy
    from kaoping.services.cycles.cycle import get_cycle, open_cycle
    from kaoping.services.forms import build_forms
    from kaoping.services.reference.setup import initialize

    settings = _settings(workdir, port, user, password)
    initialize(settings)
    policy = settings.data_dir / "policies" / "default.yaml"
    with db.session_scope(settings) as session:
        cycle = open_cycle(session, code="2022H1", policy=load_policy(policy), policy_source=policy.name, actor="bench",
                           default_responsibilities_reason="基准测试：沿用默认承担规则")
        build_forms(session, settings, cycle, FormKind.self_assessment, deadline=date(2099, 7, 10), actor="bench")
    with db.session_scope(settings) as session:
        forms = [(f.form_no, Path(f.path).read_bytes(), sender)
                 for f, _, sender in issued_forms(session, get_cycle(session, "2022H1"), FormKind.self_assessment)]
    people = People(2022)
    start = datetime(2022, 7, 1, 9, 0).astimezone()
    with IMAPClient("127.0.0.1", port=port, ssl=False) as client:
        client.login(user, password)
        for i in range(RETURNS):
            form_no, data, sender = forms[i % len(forms)]
            message = MIMEMultipart("mixed")
            message["From"], message["To"], message["Subject"] = sender, "zhuanban@baotou.example", f"回复：自评表 {form_no}"
            message["Message-ID"] = make_msgid(domain="unit.example")
            message.attach(MIMEText("附件是我单位填好的自评表，请查收。", "plain", "utf-8"))
            part = MIMEApplication(people.fill(FormKind.self_assessment, data),
                                   _subtype="vnd.openxmlformats-officedocument.wordprocessingml.document")
            part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", f"{form_no}-自评表-{i}.docx"))
            message.attach(part)
            client.append("INBOX", message.as_bytes(policy=message.policy.clone(linesep="\r\n")),
                          msg_time=start + timedelta(minutes=i))


def measure(workdir: Path, port: int, user: str, password: str) -> dict:
    base = _peak_mb()
    from kaoping.models import MailboxMessage, OutboxMessage, Submission
    from kaoping.notifications.mailbox import fetch_mail

    from kaoping import db

    settings = _settings(workdir, port, user, password)
    imported = _peak_mb()
    started = time.perf_counter()
    report = fetch_mail(settings, limit=RETURNS)
    elapsed = time.perf_counter() - started
    from sqlmodel import func, select

    with db.session_scope(settings) as session:
        recorded = session.exec(select(func.count()).select_from(MailboxMessage).where(MailboxMessage.status == "moved")).one()
        receipts = session.exec(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.kind == "return_received")).one()
        units = session.exec(select(func.count(func.distinct(Submission.unit_id)))).one()
    raw = sum(p.stat().st_size for p in (workdir / "var" / "received").rglob("*") if p.is_file())
    return {"messages": len(report.messages), "accepted_files": report.accepted_files, "recorded_and_moved": recorded,
            "receipts_queued": receipts, "units_with_a_submission": units, "seconds": round(elapsed, 1),
            "per_message_ms": round(1000 * elapsed / max(1, len(report.messages))), "peak_rss_mb": round(_peak_mb(), 1),
            "before_mb": round(base, 1), "imports_mb": round(imported, 1), "kept_mb": round(raw / 1048576, 1)}


def main() -> None:
    if len(sys.argv) > 5 and sys.argv[1] in ("--prepare", "--measure"):
        workdir, port, user, password = Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
        if sys.argv[1] == "--prepare":
            prepare(workdir, port, user, password)
        else:
            print("RESULT " + json.dumps(measure(workdir, port, user, password), ensure_ascii=False))
        return
    from kaoping.notifications.mail.imap_server import (
        ImapServerUnavailable,
        LocalImapServer,
        dovecot_path,
    )

    if dovecot_path() is None:
        print("SKIPPED: dovecot is not installed (apt-get install dovecot-imapd)")
        return
    print(f"IMAP intake: {RETURNS} returned forms fetched, recorded, taken in and moved (SQLite)")
    try:
        server = LocalImapServer(user="bench@kaoping.test").start()
    except ImapServerUnavailable as exc:
        print(f"SKIPPED: {exc}")
        return
    try:
        with tempfile.TemporaryDirectory(prefix="kaoping-imap-bench-") as folder:
            args = [folder, str(server.port), server.user, server.password]
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "benchmarks.imap_intake", "--prepare", *args], check=True)
            print(f"prepared (database, cycle, {RETURNS} replies APPENDed) in {time.perf_counter() - started:.0f} s")
            output = subprocess.run([sys.executable, "-m", "benchmarks.imap_intake", "--measure", *args], check=True,
                                    capture_output=True, text=True, env=os.environ.copy()).stdout
            result = json.loads(next(line for line in output.splitlines() if line.startswith("RESULT "))[7:])
            print(f"{result['messages']} messages in {result['seconds']} s ({result['per_message_ms']} ms each): "
                  f"{result['accepted_files']} forms accepted, {result['recorded_and_moved']} recorded and moved, "
                  f"{result['receipts_queued']} receipts queued; peak RSS {result['peak_rss_mb']} MB "
                  f"(after imports {result['imports_mb']} MB); kept {result['kept_mb']} MB")
            print("RESULT " + json.dumps(result, ensure_ascii=False))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
