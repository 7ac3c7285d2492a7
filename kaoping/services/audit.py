"""The audit log (审计日志): append-only, and tamper-evident.

Every change kaoping makes to what a cycle depends on is appended here with who, when,
what it was before and after, and why. Each entry is sealed with an HMAC-SHA256 (under
the deployment's secret) over its own content and the seal of the entry before it, so
an entry edited, inserted or deleted directly in the database breaks the chain exactly
there, and someone without the secret cannot re-seal the rest. ``verify_chain`` finds
the first broken link; ``kaoping audit verify`` prints it with the head seal, which
reports quote so that cutting off the newest entries is noticed too.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import event, func, text
from sqlmodel import Session, select

from kaoping.db import AUDIT_KEY
from kaoping.domain.clock import local_time
from kaoping.models import GENESIS_HASH, AuditEntry


def jsonable(value: Any) -> Any:
    """Plain JSON values for the log (Decimals as exact strings, times in ISO 8601)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(jsonable(value), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli:unknown"


def _seal(key: bytes, entry: AuditEntry) -> str:
    body = canonical_json(
        {
            "seq": entry.seq,
            "at": entry.at.isoformat(),
            "actor": entry.actor,
            "action": entry.action,
            "entity": entry.entity,
            "cycle_code": entry.cycle_code,
            "before": entry.before,
            "after": entry.after,
            "reason": entry.reason,
            "prev_hash": entry.prev_hash,
        }
    )
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def bind_audit_key(session: Session, key: bytes) -> None:
    session.info[AUDIT_KEY] = key


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str = "",
    before: Any = None,
    after: Any = None,
    reason: str = "",
    cycle_code: str | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (so it commits with the change)."""
    key = session.info.get(AUDIT_KEY)
    if key is None:
        raise RuntimeError("audit key not bound to this session (use kaoping.db.session_scope)")
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # Serialise appenders so two transactions never both extend the same head.
        session.execute(text("SELECT pg_advisory_xact_lock(724001)"))
    head = session.exec(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    entry = AuditEntry(
        seq=(head.seq + 1) if head else 1,
        actor=actor or default_actor(),
        action=action,
        entity=entity,
        cycle_code=cycle_code,
        before=jsonable(before),
        after=jsonable(after),
        reason=reason,
        prev_hash=head.hash if head else GENESIS_HASH,
        hash="",
    )
    entry.hash = _seal(key, entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str = ""


def verify_chain(session: Session, key: bytes, *, tz: tzinfo = UTC) -> ChainReport:
    """Walk the log in order and name the first entry that is not what kaoping wrote."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    last_hash = GENESIS_HASH
    last_seq = 0
    rows = session.exec(select(AuditEntry).order_by(AuditEntry.seq))
    for entry in rows:
        count += 1
        if entry.seq != expected_seq:
            kind = "被删除" if entry.seq > expected_seq else "被插入或编号被改动"
            return ChainReport(
                False, count, last_seq, last_hash, entry.seq,
                f"第 {expected_seq} 条记录{kind}（序号从 {last_seq} 跳到 {entry.seq}）。"
                f" / entry {expected_seq} was {'deleted' if entry.seq > expected_seq else 'inserted or renumbered'}.",
            )
        if entry.prev_hash != expected_prev:
            return ChainReport(
                False, count, last_seq, last_hash, entry.seq,
                f"第 {entry.seq} 条记录与前一条的链接断开：它之前的记录被删除、替换或插入。"
                f" / entry {entry.seq} does not follow the entry before it (deleted, replaced or inserted).",
            )
        if not hmac.compare_digest(_seal(key, entry), entry.hash):
            return ChainReport(
                False, count, last_seq, last_hash, entry.seq,
                f"第 {entry.seq} 条记录（{entry.action}，{local_time(entry.at, tz, seconds=True)} {tz}）的内容在写入后被改动。"
                f" / entry {entry.seq} was edited after it was written.",
            )
        expected_prev = entry.hash
        expected_seq += 1
        last_hash, last_seq = entry.hash, entry.seq
    return ChainReport(True, count, last_seq, last_hash)


def count_entries(session: Session) -> int:
    return session.exec(select(func.count()).select_from(AuditEntry)).one()


@event.listens_for(Session, "before_flush")
def _refuse_audit_rewrites(session, _flush_context, _instances) -> None:
    """The ORM never updates or deletes an audit entry; only direct SQL could."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("audit entries are append-only")


def actor_of(settings) -> str:
    """Who a change is logged as: ``KAOPING_ACTOR``, else the OS user (``cli:<login>``)."""
    return settings.actor or default_actor()


def recent(session: Session, limit: int) -> list[AuditEntry]:
    """The newest ``limit`` entries, oldest first."""
    return list(reversed(session.exec(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)).all()))
