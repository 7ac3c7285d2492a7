"""Issue 14 items 1, 3 and 6 through the `intake` flow (a real Prefect server and SMTP on
loopback): one run with a malformed file, an unreadable one, a symbolic link, a file without a
sender and a good file — the run completes, each file lands in accepted/, refused/ (with the
reason beside it) or held/, the malformed file's sender gets the reason, the stranger nothing."""

from __future__ import annotations

from datetime import date

import docx
import pytest
from kaoping.models import FormKind, IssuedForm, ReceivedFile, Submission
from sqlmodel import select

from kaoping import db
from kaoping.adapters.word.layout import fill_cell
from kaoping.settings import get_settings
from tests.factories import build, open_cycle


@pytest.fixture
def forms_out(flow_env, tmp_path):
    """2022H1 open, the self-assessments out to 东河区, 市卫健委 and 昆都仑区, due long after the test."""
    open_cycle(flow_env)
    build(flow_env, FormKind.self_assessment, tmp_path, "150202", "wjw", "150203", deadline=date(2099, 7, 6))
    return flow_env


def _filled(settings, unit: str, target, *, short: bool = False):
    with db.session_scope(settings) as session:
        path = session.exec(select(IssuedForm.path).where(IssuedForm.subject == unit)).one()
    document = docx.Document(path)
    table = next(t for t in document.tables if len(t.rows[0].cells) == 7)
    for row in table.rows[1:]:
        fill_cell(row.cells[5], "完成")
    if short:
        tr = table.rows[1]._tr
        for tc in tr.tc_lst[-3:]:
            tr.remove(tc)
    document.save(target)
    return target


def test_one_bad_file_does_not_stop_the_inbox(forms_out, settings, smtp, tmp_path, monkeypatch):
    from kaoping.flows.daily import intake

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _filled(settings, "150202", inbox / "a-东河区-缺单元格.docx", short=True)
    (inbox / "a-东河区-缺单元格.docx.sender").write_text("liaison@150202.baotou.example", encoding="utf-8")
    (inbox / "b-空文件.docx").write_bytes(b"")
    (tmp_path / "secret.txt").write_text("x")
    (inbox / "c-链接.docx").symlink_to(tmp_path / "secret.txt")
    _filled(settings, "150203", inbox / "d-昆都仑区-无发件人.docx")
    _filled(settings, "wjw", inbox / "e-卫健委.docx")
    (inbox / "e-卫健委.docx.sender").write_text("liaison@wjw.baotou.example\n", encoding="utf-8")
    _filled(settings, "150203", inbox / "f-昆都仑区-陌生人.docx")
    (inbox / "f-昆都仑区-陌生人.docx.sender").write_text("evil@attacker.example", encoding="utf-8")

    monkeypatch.setenv("KAOPING_INBOX_DIR", str(inbox))  # the folder is the settings', never a run's parameter
    get_settings.cache_clear()
    outcomes = {o["file"]: o for o in intake()}
    assert {name: (o["accepted"], o["held"]) for name, o in outcomes.items()} == {
        "a-东河区-缺单元格.docx": (False, False), "b-空文件.docx": (False, False), "c-链接.docx": (False, False),
        "d-昆都仑区-无发件人.docx": (False, True), "e-卫健委.docx": (True, False), "f-昆都仑区-陌生人.docx": (False, True),
    }
    assert "第 2 行只有 4 列" in outcomes["a-东河区-缺单元格.docx"]["reason"]
    assert (inbox / "accepted" / "e-卫健委.docx").exists()
    assert (inbox / "refused" / "c-链接.docx").is_symlink() and (tmp_path / "secret.txt").exists()
    assert "空文件" in (inbox / "refused" / "b-空文件.docx.reason.txt").read_text(encoding="utf-8")
    assert (inbox / "held" / "d-昆都仑区-无发件人.docx").exists() and (inbox / "held" / "f-昆都仑区-陌生人.docx.sender").exists()
    assert not [p for p in inbox.iterdir() if not p.is_dir() or p.is_symlink()]
    with db.session_scope(settings) as session:
        assert len(session.exec(select(Submission)).all()) == 1
        statuses = sorted(r.status for r in session.exec(select(ReceivedFile)) if r.purpose.startswith("intake"))
    assert statuses == ["accepted", "held", "held", "refused", "refused", "refused"]
    recipients = sorted(r.rcpt_tos[0] for r in smtp.received)
    assert recipients == ["liaison@150202.baotou.example", "liaison@wjw.baotou.example"]  # the reason, the receipt
    assert intake() == []
