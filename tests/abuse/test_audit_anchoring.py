"""Issue 14, item 5: cutting or re-sealing the audit log is detected against the anchors kept
outside the audit table (the anchor file, the emails, the documents); a different secret is
reported as such; the built-in secret signs nothing that leaves the machine unless declared."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from docx import Document
from kaoping.models import AuditEntry, OutboxMessage
from kaoping.notifications import delivery
from kaoping.notifications.outbox import queue
from sqlalchemy import text
from sqlmodel import select

from kaoping import db
from kaoping.domain.errors import Conflict
from kaoping.records import audit
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.stages.steps import publish
from kaoping.settings import DEFAULT_SECRET_KEY, Settings
from tests.factories import (
    give_signoff,
    pass_objection_window,
    request_signoff,
    scored_cycle,
)
from tests.smtp_server import SmtpServer

# The chain, its anchors and what a cut or a reseal leaves are the database's (both backends); that a letter, an
# email and a Prefect artifact carry the anchor is the documents', the mail's and Prefect's (SQLite only).
BOTH_BACKENDS = {"test_signoff_writes_an_anchor_outside_the_audit_table", "test_cutting_the_newest_entries_is_detected",
                 "test_resealing_with_the_known_key_is_detected",
                 "test_a_log_no_known_key_verifies_is_tampering_even_with_the_development_key_listed",
                 "test_development_secret_is_refused_for_mail_unless_declared",
                 "test_development_secret_is_refused_for_forms_unless_declared",
                 "test_published_letters_appear_only_with_their_commit"}


def code_of(settings) -> str:
    from tests.factories import emailed_code

    return emailed_code(settings)


def sign(settings, stage: str) -> None:
    request_signoff(settings, stage)
    assert give_signoff(settings, stage, code=code_of(settings)).ok


@pytest.fixture
def verified(initialized_db, tmp_path) -> Settings:
    scored_cycle(initialized_db, tmp_path)
    sign(initialized_db, "verification")
    return initialized_db


def head_seq(settings) -> int:
    with db.session_scope(settings) as session:
        return audit.head(session)[0]


def test_signoff_writes_an_anchor_outside_the_audit_table(verified):
    lines = audit.anchor_file(verified).read_text(encoding="utf-8").splitlines()
    last = json.loads(lines[-1])
    with db.session_scope(verified) as session:
        assert (last["seq"], last["seal"]) == audit.head(session)
        anchored = session.exec(select(OutboxMessage.audit_anchor).where(OutboxMessage.kind == "signoff_request")).one()
    assert re.fullmatch(r"\d+:[0-9a-f]{64}", anchored)


def test_cutting_the_newest_entries_is_detected(verified, cli):
    assert cli("audit", "verify").exit_code == 0
    top = head_seq(verified)
    with db.session_scope(verified) as session:
        session.execute(text("DELETE FROM audit_entry WHERE seq > :n"), {"n": top - 2})
    result = cli("audit", "verify")
    assert result.exit_code != 0 and "被删除" in result.output and f"第 {top - 1} 至 {top} 条" in result.output


def test_resealing_with_the_known_key_is_detected(verified, cli):
    key = verified.secret_key.get_secret_value().encode()
    with db.session_scope(verified) as session:  # edit entry 3 and re-seal everything after it with the key
        entries = session.exec(select(AuditEntry).order_by(AuditEntry.seq)).all()
        session.expunge_all()  # edited by direct SQL below, as an attacker would
        prev = entries[1].hash
        for entry in entries[2:]:
            if entry.seq == 3:
                entry.reason = "改过的原因"
            entry.prev_hash = prev
            seal = audit._seal(key, entry)
            session.execute(text("UPDATE audit_entry SET reason = :r, prev_hash = :p, hash = :h WHERE seq = :s"),
                            {"r": entry.reason, "p": prev, "h": seal, "s": entry.seq})
            prev = seal
    with db.session_scope(verified) as session:
        assert audit.verify_chain(session, key).ok  # the chain alone is fooled …
    result = cli("audit", "verify")  # … the anchors are not
    assert result.exit_code != 0 and "重新签名" in result.output


def test_a_log_no_known_key_verifies_is_tampering_even_with_the_development_key_listed(verified, cli):
    """Issue 24: a chain sealed by another key is tampering (a re-seal under a key of one's own looks
    exactly like this); the one innocent cause, a rotated key not listed, is named for the operator.
    The public development key never vouches for a deployment with its own key: listing it changes
    nothing (a rotation between real keys verifies: tests/abuse/test_audit_reseal.py)."""
    cli.env["KAOPING_SECRET_KEY"] = "another-secret-of-enough-length-123"
    result = cli("audit", "verify")
    assert result.exit_code == 5
    assert "篡改" in result.output and "KAOPING_PREVIOUS_SECRET_KEYS" in result.output
    cli.env["KAOPING_PREVIOUS_SECRET_KEYS"] = DEFAULT_SECRET_KEY  # the log here was sealed with the public key
    assert cli("audit", "verify").exit_code == 5


def test_emails_and_documents_carry_the_anchor(verified):
    s = verified
    pass_objection_window(s)  # the objection stage (issue 17)
    sign(s, "approval")
    with db.session_scope(s) as session:
        published = publish(session, s, get_cycle(session, "2022H1"), signed=date(2022, 7, 15))
    letters = sorted((s.var_dir / "reports" / "2022H1").rglob("*.docx"))
    assert letters and published.queued
    anchors = {Document(str(p)).core_properties.comments for p in letters}
    assert len(anchors) == 1 and next(iter(anchors)).startswith("kaoping-audit-anchor ")
    server = SmtpServer().start()
    try:
        sending = Settings(**{**s.model_dump(), "smtp_host": "127.0.0.1", "smtp_port": server.port}, _env_file=None)
        delivery.send_pending(sending)
        headers = {r.message["X-Kaoping-Kind"]: str(r.message["X-Kaoping-Audit-Anchor"] or "").strip()
                   for r in server.received}
    finally:
        server.stop()
    assert re.fullmatch(r"\d+:[0-9a-f]{64}", headers["signoff_request"])
    assert re.fullmatch(r"\d+:[0-9a-f]{64}", headers["report_distribution"])


def test_development_secret_is_refused_for_mail_unless_declared(migrated, tmp_path):
    undeclared = Settings(database_url=migrated.database_url, var_dir=tmp_path / "var", _env_file=None)
    assert undeclared.secret_key.get_secret_value() == DEFAULT_SECRET_KEY
    with db.session_scope(undeclared) as session, pytest.raises(Conflict, match="内置开发密钥"):
        queue(session, undeclared, key="k", kind="reminder", to=["a@150202.baotou.example"], subject="s", text="t")
    with pytest.raises(Conflict, match="KAOPING_SECRET_KEY"):
        delivery.send_pending(undeclared)


def test_development_secret_is_refused_for_forms_unless_declared(initialized_db, tmp_path):
    """Forms carry an identity signed with the secret: with the built-in one anyone could forge a return."""
    from kaoping.models import FormKind

    from kaoping.services.cycles.cycle import get_cycle
    from kaoping.services.forms import build_forms
    from tests.factories import open_cycle

    open_cycle(initialized_db)
    undeclared = Settings(database_url=initialized_db.database_url, var_dir=tmp_path / "var", _env_file=None)
    with db.session_scope(undeclared) as session, pytest.raises(Conflict, match="内置开发密钥"):
        build_forms(session, undeclared, get_cycle(session, "2022H1"), FormKind.self_assessment, actor="test",
                    out_dir=tmp_path / "forms")
    assert not list(tmp_path.glob("forms/*.docx"))  # refused before any file is written


def test_development_mode_is_announced_once_per_command(initialized):
    result = initialized("audit", "verify")
    assert result.exit_code == 0 and result.output.count("开发模式") == 1
    del initialized.env["KAOPING_ENVIRONMENT"]
    refused = initialized("signoff", "request", "--cycle", "2022H1", "--stage", "verification")
    assert refused.exit_code != 0 and "开发模式" not in refused.output


def test_a_prefect_artifact_records_the_anchor(verified, flow_env):
    import asyncio

    from kaoping.flows.tasks import anchor_artifact
    from prefect import flow
    from prefect.client.orchestration import get_client

    @flow(name="anchor-test")
    def anchored() -> str:
        return anchor_artifact("2022H1", "专班核实签字（同意）")

    label = anchored()
    with db.session_scope(verified) as session:
        seq, seal = audit.head(session)
    assert label == f"{seq}:{seal}"

    async def latest():
        async with get_client() as client:
            return await client.read_latest_artifacts()

    artifacts = {a.key: a for a in asyncio.run(latest())}
    anchor = artifacts["kaoping-2022h1-audit-anchor"]
    assert f"{seq}:{seal}" in anchor.data  # what an operator copies for `kaoping audit verify --anchor`
    # Readable by the 专班: what it proves in words, the hash behind a fold, no command line, no English title.
    assert anchor.description == "2022年上半年考评审计锚点（专班核实签字（同意））"
    assert anchor.data.startswith("# 2022年上半年考评 · 审计锚点") and "这页证明什么" in anchor.data
    above_the_fold = anchor.data.split("<details>")[0]
    assert seal not in above_the_fold and "kaoping" not in anchor.data and "audit anchor" not in anchor.data


def test_published_letters_appear_only_with_their_commit(verified):
    """Issue 14: letters are written in a staging folder and moved into place at the end of the publish
    transaction; files left by a run that died before its commit are moved aside, never mixed in."""
    s = verified
    pass_objection_window(s)  # the objection stage (issue 17)
    sign(s, "approval")
    final = s.var_dir / "reports" / "2022H1"
    (final / "反馈函").mkdir(parents=True)
    (final / "反馈函" / "stale.docx").write_bytes(b"left by a run killed before its commit")
    with db.session_scope(s) as session:
        published = publish(session, s, get_cycle(session, "2022H1"), signed=date(2022, 7, 15))
    assert published.out_dir == str(final)
    assert not (final / "反馈函" / "stale.docx").exists() and len(list((final / "反馈函").glob("*.docx"))) == 36
    aside = list((s.var_dir / "reports").glob(".2022H1.unrecorded-*"))
    assert len(aside) == 1 and (aside[0] / "反馈函" / "stale.docx").exists()
    assert not list((s.var_dir / "reports").glob(".2022H1.staging-*"))
