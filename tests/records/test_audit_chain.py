"""The audit log (kaoping/records/audit.py), on SQLite and PostgreSQL: every entry chained and sealed,
so an edit, a deletion or an insertion is found and named; kaoping itself never rewrites an entry.
(`kaoping audit verify|log`: tests/cli/test_audit.py; anchors and keys: tests/abuse/test_audit_anchoring.py.)"""

from __future__ import annotations

import pytest
from kaoping.models import AuditEntry
from sqlalchemy import text
from sqlmodel import func, select

from kaoping import db
from kaoping.records import audit


def verify(settings) -> audit.ChainReport:
    """What `kaoping audit verify` checks: the chain under the settings' key, and the anchors."""
    with db.session_scope(settings) as session:
        return audit.verify_chain(session, settings.secret_key.get_secret_value().encode(), tz=settings.tz,
                                  anchors=audit.read_anchors(session, settings))


def _tamper(settings, sql: str, **params) -> None:
    engine = db.get_engine(settings)
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def test_audit_chain_detects_edits_deletions_and_insertions(initialized_db, settings):
    assert verify(settings).ok
    with db.session_scope(settings) as session:
        n = audit.count_entries(session)
    assert n >= 37  # 36 units + the catalog
    _tamper(settings, "UPDATE audit_entry SET reason = 'nothing to see' WHERE seq = 5")
    edited = verify(settings)
    assert not edited.ok and "第 5 条" in edited.problem and "改动" in edited.problem


def test_audit_chain_detects_a_deleted_entry(initialized_db, settings):
    _tamper(settings, "DELETE FROM audit_entry WHERE seq = 7")
    result = verify(settings)
    assert not result.ok and "第 7 条" in result.problem and "删除" in result.problem


def test_audit_chain_detects_an_inserted_and_renumbered_entry(initialized_db, settings):
    # Someone shifts entries 10.. up by one and slips a forged entry in as number 10.
    with db.session_scope(settings) as session:
        last = session.exec(select(func.max(AuditEntry.seq))).one()
        row = session.exec(select(AuditEntry).where(AuditEntry.seq == 9)).one()
    for seq in range(last, 9, -1):
        _tamper(settings, "UPDATE audit_entry SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    _tamper(
        settings,
        "INSERT INTO audit_entry (seq, at, actor, action, entity, reason, prev_hash, hash) "
        "VALUES (10, :at, 'x', 'unit.update', 'unit:x', '', :prev, :hash)",
        at=row.at.replace(tzinfo=None), prev=row.hash, hash="f" * 64,
    )
    result = verify(settings)
    assert not result.ok and "第 10 条" in result.problem


def test_audit_entries_cannot_be_rewritten_through_kaoping(initialized_db, settings):
    with pytest.raises(RuntimeError, match="append-only"):
        with db.session_scope(settings) as session:
            entry = session.exec(select(AuditEntry).where(AuditEntry.seq == 1)).one()
            entry.reason = "rewritten"
    assert verify(settings).ok
    with db.session_scope(settings) as session:
        assert "catalog.import" in [e.action for e in audit.recent(session, 3)]
