"""Issue 25 item 4: faults that cost nothing. Tried as a hostile tester would, against real parts:

- the database restarted while `kaoping mail fetch` takes returns in (a PostgreSQL server of the
  test's own, restarted with ``pg_ctl -m fast`` exactly while a unit's form is being recorded): no
  refusal, no false message to the unit, the message left in the inbox and taken by the next fetch;
- the same form re-saved after the deadline (identical table content, new bytes): a re-send, the
  on-time return stays on time;
- a full disk (a real tmpfs, filled) while receiving a file: one Chinese line, nothing
  half-written, nothing recorded, nobody told anything.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
import pytest
from kaoping.models import FormKind, IssuedForm, OutboxMessage, ReceivedFile, Submission
from kaoping.notifications.mailbox import fetch_mail
from pydantic import SecretStr
from sqlalchemy import event
from sqlmodel import select

from kaoping import db
from kaoping.adapters.uploads import Upload
from kaoping.services.returns.intake import receive
from kaoping.settings import Settings, SmtpSecurity
from tests import factories
from tests.abuse.helpers import counts, fill, filled_self_assessment, mail_to
from tests.imap_mail import deliver, folder, reply
from tests.private_postgres import PrivatePostgres, available

TZ = ZoneInfo("Asia/Shanghai")
#: on both backends (the others: SQLite only — the restart test has a PostgreSQL server of its own)
BOTH_BACKENDS = {"test_the_same_form_saved_again_after_the_deadline_is_a_resend_not_a_late_return"}
UNITS = ("150202", "150203", "150204", "150205", "150206")  # 东河区 昆都仑区 青山区 石拐区 白云鄂博矿区


def liaison(code: str) -> str:
    return f"liaison@{code}.baotou.example"


@pytest.fixture
def private_postgres():
    why = available()
    if why:
        pytest.skip(f"a private PostgreSQL server cannot run here: {why}")
    with PrivatePostgres() as server:
        yield server


def _restart_while_recording(settings: Settings, server: PrivatePostgres, unit_code: str, times: int) -> list[int]:
    """Restart the server ``times`` times, each exactly when the intake is about to lock ``unit_code``'s
    form (the moment an operator's restart hurts most: the message is recorded, the form not yet)."""
    restarts: list[int] = []
    with db.session_scope(settings) as session:
        form_no = session.exec(select(IssuedForm.form_no).where(IssuedForm.subject == unit_code,
                                                                IssuedForm.kind == FormKind.self_assessment)).one()
    engine = db.get_engine(settings)

    @event.listens_for(engine, "before_cursor_execute")
    def restart(conn, cursor, statement, parameters, context, executemany):
        if (len(restarts) < times and "FOR UPDATE" in statement and "issued_form" in statement
                and form_no in str(parameters)):
            restarts.append(1)
            server.restart("fast")

    return restarts


def test_a_database_restart_during_mail_fetch_refuses_nothing_and_tells_no_one_anything_false(
        private_postgres, imap_server, tmp_path):
    settings = Settings(database_url=private_postgres.url, var_dir=tmp_path / "var", environment="development",
                        _env_file=None, imap_host="127.0.0.1", imap_port=imap_server.port, imap_security=SmtpSecurity.none,
                        imap_user=f"office-{uuid.uuid4().hex[:8]}@kaoping.test",
                        imap_password=SecretStr(imap_server.password))
    factories.initialize(settings)
    factories.open_cycle(settings)
    for code in UNITS:
        form = filled_self_assessment(settings, tmp_path, code, name=f"{code}.docx").read_bytes()
        deliver(imap_server, settings, reply(liaison(code), f"回复：{code}自评表", [(f"{code}自评表.docx", form)]))

    restarts = _restart_while_recording(settings, private_postgres, "150204", times=3)  # 青山区, the third message
    first = fetch_mail(settings)
    assert len(restarts) == 3
    assert first.interrupted and "数据库暂时无法使用" in first.interrupted
    assert [m.outcome for m in first.messages] == ["accepted", "accepted"]  # then the run stopped: the rest waits
    assert len(folder(imap_server, settings, "INBOX")) == 3  # 青山区's message is still there, and the two after it
    assert folder(imap_server, settings, settings.imap_refused_folder) == []
    with db.session_scope(settings) as session:
        assert session.exec(select(ReceivedFile).where(ReceivedFile.status == "refused")).all() == []
    assert mail_to(settings, liaison("150204")) == []  # told nothing, least of all a false reason

    second = fetch_mail(settings)  # the server is back: the next run takes the rest
    assert not second.interrupted and [m.outcome for m in second.messages] == ["accepted"] * 3
    assert folder(imap_server, settings, "INBOX") == []
    assert len(folder(imap_server, settings, settings.imap_processed_folder)) == len(UNITS)
    assert counts(settings)["Submission"] == len(UNITS)
    for code in UNITS:  # each unit exactly one receipt, and it is true
        [receipt] = mail_to(settings, liaison(code))
        assert receipt.kind == "return_received" and "同一时间" not in receipt.text_body
    with db.session_scope(settings) as session:
        assert all("同一时间" not in m.text_body for m in session.exec(select(OutboxMessage)))
    db.dispose_engine(settings.database_url)


def _resaved(path: Path, out: Path) -> Path:
    """The same form opened and saved again, as Word does on every save: new bytes, same tables."""
    document = docx.Document(path)
    document.core_properties.revision = document.core_properties.revision + 1
    document.core_properties.last_modified_by = "东河区联络员"
    document.save(out)
    return out


def test_the_same_form_saved_again_after_the_deadline_is_a_resend_not_a_late_return(initialized_db, tmp_path):
    settings = initialized_db
    factories.open_cycle(settings)
    [issued] = factories.build(settings, FormKind.self_assessment, tmp_path / "issued", "150202")  # due 2022-07-10
    on_time = factories.fill_all_progress(issued, tmp_path / "东河区自评表.docx")
    again = _resaved(on_time, tmp_path / "东河区自评表（再次保存）.docx")
    assert again.read_bytes() != on_time.read_bytes()

    first = receive(settings, Upload(on_time.name, on_time.read_bytes()), sender=liaison("150202"),
                    received_at=datetime(2022, 7, 8, 10, 0, tzinfo=TZ))
    assert first.accepted and not first.result.late
    second = receive(settings, Upload(again.name, again.read_bytes()), sender=liaison("150202"),
                     received_at=datetime(2022, 7, 12, 9, 0, tzinfo=TZ))
    assert second.accepted and not second.result.late and second.result.details.get("unchanged")
    assert "内容相同" in second.result.summary and "按时" in second.result.summary
    with db.session_scope(settings) as session:
        [submission] = session.exec(select(Submission)).all()
        assert submission.current and not submission.late
        assert submission.received_at == datetime(2022, 7, 8, 10, 0, tzinfo=TZ)  # the on-time return, untouched
        assert [r.status for r in session.exec(select(ReceivedFile).where(ReceivedFile.purpose == "intake.self_assessment")
                                                .order_by(ReceivedFile.id))] == ["accepted", "unchanged"]
    receipts = mail_to(settings, liaison("150202"))
    assert len(receipts) == 2 and "逾期" not in receipts[1].text_body

    changed = docx.Document(again)  # a real change after the deadline is a new, late submission
    factories.main_table(changed, "指标编号").rows[1].cells[4].paragraphs[0].add_run("补充：已完成验收。")
    changed.save(tmp_path / "东河区自评表（修改）.docx")
    third = receive(settings, Upload("东河区自评表（修改）.docx", (tmp_path / "东河区自评表（修改）.docx").read_bytes()),
                    sender=liaison("150202"), received_at=datetime(2022, 7, 12, 10, 0, tzinfo=TZ))
    assert third.accepted and third.result.late and not third.result.details.get("unchanged")


def _part_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and (p.name.endswith(".part") or ".incoming-" in p.name)]


def test_a_full_disk_while_receiving_a_file_is_one_line_and_leaves_nothing_half_written(initialized, settings, tmp_path,
                                                                                         full_disk):
    factories.open_cycle(settings)
    form = filled_self_assessment(settings, tmp_path, "150202", name="东河区自评表.docx")
    var = full_disk / "var"
    var.mkdir()
    initialized.env["KAOPING_VAR_DIR"] = str(var)  # received files go to the small disk (the database stays where it is)
    fill(full_disk, leave=8 * 1024)  # the form is ~40 KB: it cannot be kept
    before = counts(settings)
    with db.session_scope(settings) as session:
        kept_before = len(session.exec(select(ReceivedFile)).all())  # what `kaoping init` imported

    result = initialized("intake", str(form), "--sender", liaison("150202"))
    assert result.exit_code != 0
    assert "Traceback" not in result.output and "磁盘空间不足" in result.output
    assert len([line for line in result.output.splitlines() if line.strip() and not line.startswith("开发模式")]) == 1
    assert str(var / "received") in result.output.replace("\n", "")  # where the disk is full
    assert _part_files(full_disk) == []  # no half-written copy in received/
    assert counts(settings) == before
    with db.session_scope(settings) as session:
        assert len(session.exec(select(ReceivedFile)).all()) == kept_before
        assert session.exec(select(OutboxMessage)).all() == []  # the sender is told nothing false (nothing at all)

    (full_disk / "filler.bin").unlink()  # space again: the same file goes in
    again = initialized("intake", str(form), "--sender", liaison("150202"))
    assert again.exit_code == 0, again.output
    assert counts(settings)["Submission"] == 1


def test_the_mailbox_going_away_mid_fetch_loses_nothing_and_answers_once(initialized_db, tmp_path):
    """The 政务邮箱 server restarts while kaoping moves a message it has just taken in: the run stops
    there; the next run (the server back) moves that message without taking it in again and takes
    the rest — every unit gets one receipt, nothing is left behind or refused."""
    import os
    import signal
    import tempfile

    from kaoping.notifications.mail.imap_server import LocalImapServer, dovecot_path

    if dovecot_path() is None:
        pytest.skip("dovecot is not installed: apt-get install dovecot-imapd (.ci/run does)")
    mail_dir = Path(tempfile.mkdtemp(prefix="kaoping-imapmail-"))  # outlives the first server
    os.chmod(mail_dir, 0o755)
    first = LocalImapServer(mail_dir=mail_dir).start()
    second = None
    try:
        settings = initialized_db.model_copy(update={"imap_host": "127.0.0.1", "imap_port": first.port,
                                                     "imap_security": SmtpSecurity.none, "imap_user": first.user,
                                                     "imap_password": SecretStr(first.password)})
        factories.open_cycle(settings)
        units = UNITS[:3]
        for code in units:
            form = filled_self_assessment(settings, tmp_path, code, name=f"{code}.docx").read_bytes()
            first.append(reply(liaison(code), f"回复：{code}自评表", [(f"{code}自评表.docx", form)]))
        handled = []

        def outage(point: str) -> None:
            if point == "handled":
                handled.append(1)
                if len(handled) == 2:  # the second message is taken in; moving it meets a server that is gone
                    os.killpg(first.process.pid, signal.SIGKILL)  # the server and its IMAP sessions, at once
                    first.process.wait()

        report = fetch_mail(settings, checkpoint=outage)
        assert report.interrupted and "连接中断" in report.interrupted
        assert counts(settings)["Submission"] == 2

        second = LocalImapServer(mail_dir=mail_dir).start()
        again = fetch_mail(settings.model_copy(update={"imap_port": second.port}))
        assert not again.interrupted and [m.outcome for m in again.messages] == ["already", "accepted"]
        assert second.messages("INBOX") == [] and len(second.messages(settings.imap_processed_folder)) == 3
        assert counts(settings)["Submission"] == 3
        for code in units:
            [receipt] = mail_to(settings, liaison(code))
            assert receipt.kind == "return_received"
    finally:
        first.stop()
        if second is not None:
            second.stop()
        import shutil

        shutil.rmtree(mail_dir, ignore_errors=True)
