"""Issue 24, attack 7, repeated on a deployment with its own long random secret: entry N edited and
the whole chain re-sealed with the built-in development key or any made-up key — `kaoping audit
verify` said "密钥不符……这不表示记录被篡改" and never looked at the anchors; entries after the last
anchor (the objection stage was never anchored) could be deleted with `audit verify` still reporting
"审计日志完整".

Now every anchor is checked whatever key verifies the chain, a chain no key of kaoping's verifies is
tampering, every stage (the objections too) anchors, anchors leave the machine (a daily mail to the
专班 mailbox, a copy location), and `audit verify` says how long since the newest anchor."""

from __future__ import annotations

import json
import re
import secrets
from datetime import date, timedelta

import pytest
from kaoping.models import AuditEntry, OutboxMessage
from kaoping.notifications.reminders import run_reminders
from sqlalchemy import text
from sqlmodel import select

from kaoping import db
from kaoping.records import audit
from kaoping.services.objections.window import office_today
from kaoping.settings import DEFAULT_SECRET_KEY, Settings
from tests.conftest import Cli
from tests.factories import (
    emailed_code,
    give_signoff,
    initialize,
    open_objection_window,
    record_objection,
    request_signoff,
    scored_cycle,
)


#: The chain and its anchors are read back from PostgreSQL in one scenario; the others check the seals' arithmetic,
#: which does not depend on the database (SQLite only: tests/conftest.py; the anchors on both backends:
#: test_audit_anchoring.py).
BOTH_BACKENDS = {"test_a_reseal_with_the_real_key_and_the_local_anchors_is_caught_by_the_anchors_off_the_machine"}


@pytest.fixture
def office(settings, tmp_path, monkeypatch) -> Settings:
    """A deployment as production runs it: its own secret, the anchors copied to a second place. (Declared
    development only so that the registry's example addresses may be mailed; the audit does not care.)"""
    production = Settings(**{**settings.model_dump(), "environment": "development", "audit_anchor_copy": tmp_path / "share",
                             "secret_key": secrets.token_urlsafe(48)}, _env_file=None)
    db.upgrade(production)
    initialize(production)
    scored_cycle(production, tmp_path)
    request_signoff(production, "verification")
    assert give_signoff(production, "verification", code=emailed_code(production)).ok
    monkeypatch.chdir(tmp_path)
    return production


def cli_of(settings: Settings) -> Cli:
    from typer.testing import CliRunner

    return Cli(CliRunner(), {"KAOPING_DATABASE_URL": settings.database_url, "KAOPING_VAR_DIR": str(settings.var_dir),
                             "KAOPING_ENVIRONMENT": "development", "KAOPING_ACTOR": "test:专班", "COLUMNS": "200",
                             "KAOPING_SECRET_KEY": settings.secret_key.get_secret_value(),
                             "KAOPING_AUDIT_ANCHOR_COPY": str(settings.audit_anchor_copy)})


def reseal(settings: Settings, key: bytes, *, edit_seq: int) -> dict[str, str]:
    """Edit entry ``edit_seq`` and re-seal the whole chain under ``key``, by direct SQL as an attacker
    with the database would; returns the new seal of each entry (old seal → new seal)."""
    changed = {}
    with db.session_scope(settings) as session:
        entries = session.exec(select(AuditEntry).order_by(AuditEntry.seq)).all()
        session.expunge_all()
        prev = audit.GENESIS_HASH
        for entry in entries:
            old = entry.hash
            if entry.seq == edit_seq:
                entry.reason = "（已改）" + entry.reason
            entry.prev_hash = prev
            seal = audit._seal(key, entry)
            session.execute(text("UPDATE audit_entry SET reason = :r, prev_hash = :p, hash = :h WHERE seq = :s"),
                            {"r": entry.reason, "p": prev, "h": seal, "s": entry.seq})
            changed[old], prev = seal, seal
    return changed


def rewrite_local_anchors(settings: Settings, changed: dict[str, str]) -> None:
    """What a thorough attacker does next: the anchor file and the outbox's anchors made to agree."""
    path = audit.anchor_file(settings)
    path.write_text("".join(
        json.dumps({**(r := json.loads(line)), "seal": changed.get(r["seal"], r["seal"])}, ensure_ascii=False) + "\n"
        for line in path.read_text(encoding="utf-8").splitlines()), encoding="utf-8")
    with db.session_scope(settings) as session:
        for row in session.exec(select(OutboxMessage).where(OutboxMessage.audit_anchor != "")):
            seq, seal = row.audit_anchor.split(":")
            row.audit_anchor = f"{seq}:{changed.get(seal, seal)}"
            session.add(row)


@pytest.mark.parametrize("key", [DEFAULT_SECRET_KEY, "any-made-up-key-of-sufficient-length"], ids=["development-key", "made-up"])
def test_a_chain_resealed_under_another_key_is_tampering(office, key):
    assert cli_of(office)("audit", "verify").exit_code == 0
    changed = reseal(office, key.encode(), edit_seq=5)
    result = cli_of(office)("audit", "verify")
    assert result.exit_code == 5 and "篡改" in result.output and "这不表示记录被篡改" not in result.output
    assert "重新签名" in result.output  # and the anchors, checked all the same, say so too
    rewrite_local_anchors(office, changed)  # the local anchors agree now: the key alone still tells
    again = cli_of(office)("audit", "verify")
    assert again.exit_code == 5 and "篡改" in again.output


def test_a_reseal_with_the_real_key_and_the_local_anchors_is_caught_by_the_anchors_off_the_machine(office):
    """An insider with the key rewrites the chain and every anchor on the machine: the copy location
    and the daily anchor mail (the 专班 has it) still differ."""
    with db.session_scope(office) as session:
        run_reminders(session, office, today=date(2022, 7, 11))  # the daily anchor mail is queued
        mailed = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "audit_anchor")).one()
        mailed_anchor = re.search(r"锚点：(\d+:[0-9a-f]{64})", mailed.text_body).group(1)
    assert mailed.to == [office.office_email] and mailed.audit_anchor == mailed_anchor
    changed = reseal(office, office.secret_key.get_secret_value().encode(), edit_seq=5)
    rewrite_local_anchors(office, changed)
    cli = cli_of(office)
    with_copy = cli("audit", "verify")
    assert with_copy.exit_code == 5 and "锚点副本" in with_copy.output and "重新签名" in with_copy.output
    del cli.env["KAOPING_AUDIT_ANCHOR_COPY"]  # the share is unreachable today: the mail is enough
    assert cli("audit", "verify").exit_code == 0  # on the machine, everything agrees …
    given = cli("audit", "verify", "--anchor", mailed_anchor)
    assert given.exit_code == 5 and "命令行给出的锚点" in given.output  # … not with the anchor that left it


def test_the_objection_stage_anchors_so_cutting_it_is_detected(office):
    with db.session_scope(office) as session:
        before_objections = audit.head(session)[0]
    open_objection_window(office, today=office_today())
    record_objection(office, unit="东河区", numbers=[57], text="数据共享已全部完成。")
    cli = cli_of(office)
    assert cli("audit", "verify").exit_code == 0
    with db.session_scope(office) as session:  # the whole objection stage cut from the log
        session.execute(text("DELETE FROM audit_entry WHERE seq > :n"), {"n": before_objections})
    result = cli("audit", "verify")
    assert result.exit_code == 5 and "被删除" in result.output


def test_verify_says_how_long_since_the_newest_anchor_and_what_came_after_it(office):
    cli = cli_of(office)
    with db.session_scope(office) as session:
        audit.append(session, actor="test:专班", action="note", reason="一条未锚定的记录")  # after the newest anchor
    result = cli("audit", "verify")
    assert result.exit_code == 0 and "最近的锚点：第" in result.output and "此后又记录了 1 条" in result.output
    assert "小时前" in result.output
    # The daily mail anchors it: the next verify has nothing unanchored, and a day without entries sends nothing.
    with db.session_scope(office) as session:
        assert run_reminders(session, office, today=date(2022, 7, 11)).anchor
    with db.session_scope(office) as session:
        assert run_reminders(session, office, today=date(2022, 7, 11) + timedelta(days=1)).anchor == ""
    assert "此后没有新记录" in cli("audit", "verify").output


def test_a_rotation_between_real_keys_verifies_and_the_old_key_cannot_rewrite_what_came_after(office):
    old = office.secret_key.get_secret_value()
    new = secrets.token_urlsafe(48)
    cli = cli_of(office)
    cli.env["KAOPING_SECRET_KEY"] = new
    assert cli("audit", "verify").exit_code == 5  # the old key not listed: no key verifies
    cli.env["KAOPING_PREVIOUS_SECRET_KEYS"] = old  # the rotation, as the README says
    assert cli("audit", "verify").exit_code == 0
    rotated = Settings(**{**office.model_dump(), "secret_key": new, "previous_secret_keys": old}, _env_file=None)
    with db.session_scope(rotated) as session:
        audit.append(session, actor="test:专班", action="note", reason="更换密钥之后的第一条")
        audit.append(session, actor="test:专班", action="note", reason="更换密钥之后的第二条")
        top = audit.head(session)[0]
    assert cli("audit", "verify").exit_code == 0
    # Whoever kept the old key re-seals the newest entry with it: after an entry sealed with the new key, refused.
    with db.session_scope(rotated) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.seq == top)).one()
        session.expunge(entry)
        entry.reason = "用旧密钥改过"
        session.execute(text("UPDATE audit_entry SET reason = :r, hash = :h WHERE seq = :s"),
                        {"r": entry.reason, "h": audit._seal(old.encode(), entry), "s": top})
    result = cli("audit", "verify")
    assert result.exit_code == 5 and "旧密钥" in result.output
