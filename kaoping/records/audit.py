"""The audit log (审计日志): append-only, and tamper-evident.

Every change kaoping makes to what a cycle depends on is appended here with who, when,
what it was before and after, and why. Each entry is sealed with an HMAC-SHA256 (under
the deployment's secret) over its own content and the seal of the entry before it, so
an entry edited, inserted or deleted directly in the database breaks the chain exactly
there, and someone without the secret cannot re-seal the rest. ``verify_chain`` finds
the first broken link.

A chain alone cannot show that its newest entries were cut off, nor that it was re-sealed by
someone who holds the key. So every sign-off and publication records the head (``seq:seal``)
outside the audit table's reach — an anchor: in a file under the var dir
(``audit-anchors.jsonl``, written after the commit), in the X-Kaoping-Audit-Anchor header of the
sign-off and distribution emails, in the published documents' properties and in a Prefect
artifact — and ``verify_chain`` checks the chain against every anchor it can read.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from enum import Enum
from pathlib import Path
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


# --------------------------------------------------------------------------- anchors

ANCHOR_FILE = "audit-anchors.jsonl"
ANCHOR_RE = re.compile(r"\b(\d+):([0-9a-f]{64})\b")
_PENDING = "kaoping.audit_anchors"


@dataclass(frozen=True)
class Anchor:
    seq: int
    seal: str
    source: str  # where it was read: the anchor file, outbox message #n, a document …

    @property
    def label(self) -> str:
        return f"{self.seq}:{self.seal}"


def head(session: Session) -> tuple[int, str]:
    """(sequence, seal) of the newest entry; (0, genesis) for an empty log."""
    session.flush()
    entry = session.exec(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    return (entry.seq, entry.hash) if entry else (0, GENESIS_HASH)


def anchor_file(settings) -> Path:
    return settings.var_dir / ANCHOR_FILE


def _write_pending(session: Session) -> None:
    for path, line in session.info.pop(_PENDING, []):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError:  # the other anchors (emails, documents, artifacts) still hold it
            pass


def _drop_pending(session: Session, *_args) -> None:
    session.info.pop(_PENDING, None)


def record_anchor(session: Session, settings, why: str) -> str:
    """The audit head now, as ``seq:seal``; appended to the anchor file once this transaction
    commits (never for a transaction rolled back, whose entries do not exist)."""
    seq, seal = head(session)
    label = f"{seq}:{seal}"
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_commit", _write_pending, once=True)
        event.listen(session, "after_rollback", _drop_pending, once=True)
    line = json.dumps({"seq": seq, "seal": seal, "why": why, "at": datetime.now(UTC).isoformat()}, ensure_ascii=False)
    if not pending or json.loads(pending[-1][1])["seq"] != seq:
        pending.append((anchor_file(settings), line))
    return label


def read_anchors(session: Session, settings) -> list[Anchor]:
    """Every anchor kaoping can read: the anchor file and the emails it queued."""
    from kaoping.models import OutboxMessage

    anchors = []
    path = anchor_file(settings)
    if path.exists():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                record = json.loads(line)
                anchors.append(Anchor(int(record["seq"]), str(record["seal"]), f"{path.name} 第 {number} 行"))
            except (ValueError, KeyError, TypeError):
                continue
    for message_id, label in session.exec(select(OutboxMessage.id, OutboxMessage.audit_anchor)
                                          .where(OutboxMessage.audit_anchor != "")):
        match = ANCHOR_RE.search(label or "")
        if match:
            anchors.append(Anchor(int(match.group(1)), match.group(2), f"发件箱邮件 #{message_id}"))
    return anchors


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str = ""
    key_mismatch: bool = False  # no entry verifies under this key: a different secret, not tampering
    anchors: int = 0  # anchors checked


def _key_mismatch(session: Session, key: bytes) -> bool:
    """True when not a single entry verifies under ``key`` (a changed secret), as opposed to one
    entry edited (the others still verify)."""
    for entry in session.exec(select(AuditEntry).order_by(AuditEntry.seq)):
        if hmac.compare_digest(_seal(key, entry), entry.hash):
            return False
    return True


def verify_chain(session: Session, key: bytes, *, tz: tzinfo = UTC, anchors: list[Anchor] | None = None) -> ChainReport:
    """Walk the log in order and name the first entry that is not what kaoping wrote; then check
    it against the anchors (the newest cut off, or the log re-sealed)."""
    report = _walk(session, key, tz=tz)
    if not report.ok or not anchors:
        return report
    by_seq: dict[int, list[Anchor]] = {}
    for a in anchors:
        by_seq.setdefault(a.seq, []).append(a)
    latest = max(anchors, key=lambda a: a.seq)
    if latest.seq > report.head_seq:
        return ChainReport(
            False, report.entries, report.head_seq, report.head_hash, report.head_seq + 1,
            f"最新的锚点（{latest.source}）记录了第 {latest.seq} 条，但日志只到第 {report.head_seq} 条："
            f"第 {report.head_seq + 1} 至 {latest.seq} 条记录被删除。"
            f" / The newest entries {report.head_seq + 1}–{latest.seq} were cut off (anchor: {latest.source}).",
            anchors=len(anchors))
    wanted = set(by_seq)
    for entry in session.exec(select(AuditEntry).where(AuditEntry.seq.in_(wanted)).order_by(AuditEntry.seq)):
        for a in by_seq[entry.seq]:
            if a.seal != entry.hash:
                return ChainReport(
                    False, report.entries, report.head_seq, report.head_hash, entry.seq,
                    f"第 {entry.seq} 条记录的签名与锚点（{a.source}）不符：日志在锚定之后被改写并重新签名。"
                    f" / Entry {entry.seq} does not match its anchor ({a.source}): the log was re-sealed.",
                    anchors=len(anchors))
    return ChainReport(True, report.entries, report.head_seq, report.head_hash, anchors=len(anchors))


def _walk(session: Session, key: bytes, *, tz: tzinfo = UTC) -> ChainReport:
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
            if _key_mismatch(session, key):
                return ChainReport(
                    False, count, last_seq, last_hash, entry.seq,
                    "密钥不符：没有一条记录能用当前的 KAOPING_SECRET_KEY 验证——日志是用另一个密钥签名的（密钥被更换或设置错误），"
                    "这不表示记录被篡改。请设置写入这些记录时的密钥后再校验；更换密钥的方法见 README“更换密钥”。"
                    " / Secret mismatch: no entry verifies under the current KAOPING_SECRET_KEY (not tampering).",
                    key_mismatch=True)
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
