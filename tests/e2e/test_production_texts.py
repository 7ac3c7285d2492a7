"""Issue 26, “Done when”: no document or email of a production-configured cycle carries a placeholder or
a trace of the trial set-up — ×××, 0000000, “demo”, “演示”, a loopback address or a `kaoping` command.

The golden cycle (tests/golden: every kind of form, email and document, from opening to publishing) is
played with production settings (KAOPING_ENVIRONMENT=production, its own secret, every document and
mail setting filled in, the unit registry and visit teams at real addresses); then every .docx it wrote
is read (paragraphs, tables, headers and footers) and every email in the outbox (subject, text, HTML).
"""

from __future__ import annotations

import re
from pathlib import Path

import docx
import pytest
from kaoping.models import Contact, OutboxMessage
from sqlmodel import select

from kaoping import db
from kaoping.settings import Settings, placeholders
from tests.conftest import Cli, cli_env
from tests.golden.test_golden import play_cycle

DOMAIN = "baotou.gov.cn"
PRODUCTION = {
    "environment": "production", "secret_key": "p" * 48, "report_signer": "王志强", "contact_name": "李明",
    "contact_phone": "0472-5123456", "office_email": f"zhuanban@{DOMAIN}", "mail_from": f"kaoping@{DOMAIN}",
    "verifier_email": f"zhuanban-fzr@{DOMAIN}", "approver_email": f"fenguan@{DOMAIN}",
    "third_party_email": "pinggu@pinggu-zhongxin.cn", "opinion_email": "minyi@diaocha-zhongxin.cn",
    "leadership_emails": f"shiwei@{DOMAIN},shizhengfu@{DOMAIN},jiwei@{DOMAIN}",
}
#: what no production document or email may contain: placeholders, the trial set-up, operators' commands
FORBIDDEN = re.compile(r"×{2,}|0000000|demo|演示|127\.0\.0\.1|localhost|kaoping\s+[a-z]", re.IGNORECASE)


def _real(address: str) -> str:
    return address.replace("baotou.example", DOMAIN).replace("150202.example", f"150202.{DOMAIN}")


def _docx_text(path: Path) -> str:
    document = docx.Document(path)
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    for section in document.sections:
        for part in (section.header, section.footer):
            parts += [p.text for p in part.paragraphs]
    return "\n".join(parts)


def _found(text: str) -> list[str]:
    return sorted({m.group(0) for m in FORBIDDEN.finditer(text)})


@pytest.mark.layout_only  # the texts do not depend on the database: SQLite only, as the golden samples
def test_a_production_cycle_prints_and_mails_no_placeholder(initialized_db, tmp_path, monkeypatch):
    url, var = initialized_db.database_url, initialized_db.var_dir
    with db.session_scope(initialized_db) as session:  # the registry as the office imports it: real addresses
        for contact in session.exec(select(Contact)):
            contact.email = _real(contact.email)
            session.add(contact)
    teams = tmp_path / "teams.yaml"
    teams.write_text(_real((initialized_db.data_dir / "demo" / "teams.yaml").read_text(encoding="utf-8")), encoding="utf-8")
    env = {**cli_env(initialized_db), **{f"KAOPING_{k.upper()}": v for k, v in PRODUCTION.items()}}
    monkeypatch.chdir(tmp_path)
    for key, value in env.items():  # the process's own settings too (what a worker reads)
        monkeypatch.setenv(key, value)
    settings = Settings(database_url=url, var_dir=var, _env_file=None)
    assert settings.environment.value == "production" and placeholders(settings) == []

    from typer.testing import CliRunner

    out, messages, _forms, _status, _closed = play_cycle(
        Cli(CliRunner(), env), settings, tmp_path, mail=_real, teams=teams,
        link="https://kaoping.baotou.gov.cn/prefect/runs/flow-run/5f0c1a2e-8b3d-4e6f-9a7b-2c4d6e8f1a3b")

    documents = sorted({*var.rglob("*.docx"), *out.rglob("*.docx")})
    kinds = {p.name.rsplit("-", 1)[-1] for p in documents}
    assert len(documents) > 40 and {"反馈函（征求意见稿）.docx", "异议表.docx", "反馈函.docx"} <= kinds, kinds
    assert any("通报" in p.name for p in documents) and any("报告" in p.name for p in documents)
    assert any("signoff" in p.parts for p in documents)  # the drafts the signers review (sign-off brief)
    texts = {p: _docx_text(p) for p in documents}
    problems = [f"{p.relative_to(tmp_path)}: {found}" for p, text in texts.items() if (found := _found(text))]
    letter = next(text for p, text in texts.items() if p.name == "150202-东河区-反馈函.docx")  # the configured values
    assert f"电子版发送至专班邮箱zhuanban@{DOMAIN}" in letter and "联系人：市政府办公室数字政府专班李明，联系电话：0472-5123456" in letter
    assert not [p for p, text in texts.items() if "待填" in text]
    with db.session_scope(settings) as session:
        mails = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert len(mails) == len(messages) and len({m.kind for m in mails}) > 20
    problems += [f"email {m.kind} “{m.subject}”: {found}" for m in mails
                 if (found := _found(f"{m.subject}\n{m.text_body}\n{m.html_body}"))]
    assert not problems, "\n".join(problems)
