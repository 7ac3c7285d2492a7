"""The audit log (审计日志): append-only, and tamper-evident.

Every change kaoping makes to what a cycle depends on is appended here with who, when,
what it was before and after, and why. Each entry is sealed with an HMAC-SHA256 (under
the deployment's secret) over its own content and the seal of the entry before it, so
an entry edited, inserted or deleted directly in the database breaks the chain exactly
there, and someone without the secret cannot re-seal the rest. ``verify_chain`` finds
the first broken link.

A chain alone cannot show that its newest entries were cut off, nor that it was re-sealed (by
someone who holds the key, or wholesale under a key of their own). So every stage of a cycle —
opening, each kind of form issued, returns, the objections and their decisions, the sign-offs,
publication — and a daily mail record the head (``seq:seal``) outside the audit table's reach —
an anchor: in a file under the var dir (``audit-anchors.jsonl``, written after the commit) and
its copy off the machine (``KAOPING_AUDIT_ANCHOR_COPY``), in the X-Kaoping-Audit-Anchor header of
the emails those stages send (the recipients' copies; a daily one goes to the 专班 mailbox), in
the published documents' properties and in a Prefect artifact. ``verify_chain`` checks the table
against every anchor it can read whatever key verifies the chain, and calls a log that no key of
kaoping verifies re-sealed (tampering). A cut after the newest anchor cannot be seen: it is
bounded by the time since that anchor, which ``kaoping audit verify`` states.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo
from kaoping.models.types import utcnow
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
log = logging.getLogger("kaoping.audit")


@dataclass(frozen=True)
class Anchor:
    seq: int
    seal: str
    source: str  # where it was read: the anchor file, its copy, outbox message #n, given by hand …
    at: datetime | None = None  # when it was taken, where known

    @property
    def label(self) -> str:
        return f"{self.seq}:{self.seal}"


def head(session: Session) -> tuple[int, str]:
    """(sequence, seal) of the newest entry; (0, genesis) for an empty log."""
    session.flush()
    entry = session.exec(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    return (entry.seq, entry.hash) if entry else (0, GENESIS_HASH)


def anchor_file(settings) -> Path:
    return settings.var_dir / ANCHOR_FILE


def anchor_files(settings) -> list[Path]:
    """Where anchors are written: the var dir's file, and the second location of the settings
    (``KAOPING_AUDIT_ANCHOR_COPY``, a folder or file off this machine: a share, another server)."""
    paths = [anchor_file(settings)]
    copy = getattr(settings, "audit_anchor_copy", None)
    if copy:
        copy = Path(copy)
        paths.append(copy / ANCHOR_FILE if copy.is_dir() or not copy.suffix else copy)
    return paths


def _write_pending(session: Session) -> None:
    for path, line in session.info.pop(_PENDING, []):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError as exc:  # the other anchors (emails, documents, artifacts) still hold it
            log.warning("审计锚点未能写入 %s（%s）：请检查该位置是否可写", path, exc)


def _drop_pending(session: Session, *_args) -> None:
    session.info.pop(_PENDING, None)


def record_anchor(session: Session, settings, why: str) -> str:
    """The audit head now, as ``seq:seal``; appended to the anchor file (and its copy) once this
    transaction commits (never for a transaction rolled back, whose entries do not exist)."""
    seq, seal = head(session)
    label = f"{seq}:{seal}"
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_commit", _write_pending, once=True)
        event.listen(session, "after_rollback", _drop_pending, once=True)
    line = json.dumps({"seq": seq, "seal": seal, "why": why, "at": utcnow().isoformat()}, ensure_ascii=False)
    if not pending or json.loads(pending[-1][1])["seq"] != seq:
        pending.extend((path, line) for path in anchor_files(settings))
    return label


def _read_file(path: Path, label: str) -> list[Anchor]:
    anchors = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return anchors
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
            at = datetime.fromisoformat(record["at"]) if record.get("at") else None
            anchors.append(Anchor(int(record["seq"]), str(record["seal"]), f"{label} 第 {number} 行", at))
        except (ValueError, KeyError, TypeError):
            continue
    return anchors


def parse_anchor(text: str, source: str = "手工提供") -> Anchor:
    """An anchor as people copy it from an email, an artifact or a document: ``seq:seal``."""
    match = ANCHOR_RE.search(text or "")
    if match is None:
        raise ValueError(f"“{text}”不是锚点：应为“序号:64 位签名”，如邮件头 X-Kaoping-Audit-Anchor 或锚点邮件中所写。")
    return Anchor(int(match.group(1)), match.group(2), source)


def read_anchors(session: Session, settings) -> list[Anchor]:
    """Every anchor kaoping can read: the anchor file, its copy, and the emails it queued."""
    from kaoping.models import OutboxMessage

    anchors = []
    for i, path in enumerate(anchor_files(settings)):
        anchors += _read_file(path, path.name if i == 0 else f"锚点副本 {path}")
    for message_id, label, created in session.exec(select(OutboxMessage.id, OutboxMessage.audit_anchor,
                                                          OutboxMessage.created_at)
                                                   .where(OutboxMessage.audit_anchor != "")):
        match = ANCHOR_RE.search(label or "")
        if match:
            anchors.append(Anchor(int(match.group(1)), match.group(2), f"发件箱邮件 #{message_id}", created))
    return anchors


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str = ""
    foreign_key: bool = False  # no entry verifies under any key kaoping knows: sealed by another key
    anchors: int = 0  # anchors checked
    last_anchor: Anchor | None = None  # the newest anchor (highest sequence)
    unanchored: int = 0  # entries after the newest anchor: a cut of them would not be seen

    @property
    def key_mismatch(self) -> bool:  # the name of before issue 24
        return self.foreign_key


def _keys(keys) -> list[bytes]:
    return [keys] if isinstance(keys, bytes | bytearray) else list(keys)


def _sealed_by_none(session: Session, keys: list[bytes]) -> bool:
    """True when not a single entry verifies under any of ``keys``: the log was sealed by another key."""
    for entry in session.exec(select(AuditEntry).order_by(AuditEntry.seq)):
        if any(hmac.compare_digest(_seal(key, entry), entry.hash) for key in keys):
            return False
    return True


def _against_anchors(session: Session, anchors: list[Anchor]) -> tuple[int | None, str]:
    """(first sequence that differs, why) when the table is not what the anchors recorded, whatever
    key seals it: entries cut after an anchor, an anchored entry gone, or its seal changed."""
    if not anchors:
        return None, ""
    top = session.exec(select(func.max(AuditEntry.seq))).one() or 0
    latest = max(anchors, key=lambda a: a.seq)
    if latest.seq > top:
        return top + 1, (f"最新的锚点（{latest.source}）记录了第 {latest.seq} 条，但日志只到第 {top} 条："
                         f"第 {top + 1} 至 {latest.seq} 条记录被删除。"
                         f" / The newest entries {top + 1}–{latest.seq} were cut off (anchor: {latest.source}).")
    by_seq: dict[int, list[Anchor]] = {}
    for a in anchors:
        by_seq.setdefault(a.seq, []).append(a)
    stored = dict(session.exec(select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.seq.in_(set(by_seq)))).all())
    for seq in sorted(by_seq):
        for a in by_seq[seq]:
            if seq == 0:
                continue
            if seq not in stored:
                return seq, (f"锚点（{a.source}）记录的第 {seq} 条记录已不在日志中：记录被删除。"
                             f" / Anchored entry {seq} is gone ({a.source}).")
            if stored[seq] != a.seal:
                return seq, (f"第 {seq} 条记录的签名与锚点（{a.source}）不符：日志在锚定之后被改写并重新签名。"
                             f" / Entry {seq} does not match its anchor ({a.source}): the log was re-sealed.")
    return None, ""


def verify_chain(session: Session, keys, *, tz: tzinfo = UTC, anchors: list[Anchor] | None = None) -> ChainReport:
    """Walk the log in order and name the first entry that is not what kaoping wrote under one of
    ``keys`` (the current secret first, then those of before a rotation); then check it against every
    anchor, whatever key verifies the chain — a log re-sealed under any key, or cut, differs from them."""
    report = _walk(session, _keys(keys), tz=tz)
    anchors = anchors or []
    bad_seq, why = _against_anchors(session, anchors)
    latest = max(anchors, key=lambda a: (a.seq, a.at or datetime.min.replace(tzinfo=UTC))) if anchors else None
    extra = {"anchors": len(anchors), "last_anchor": latest,
             "unanchored": max(report.head_seq - latest.seq, 0) if latest and report.ok else 0}
    if not report.ok:
        problem = report.problem + (f"\n另外，{why}" if why else "")
        return replace(report, problem=problem, **extra)
    if why:
        return ChainReport(False, report.entries, report.head_seq, report.head_hash, bad_seq, why, **extra)
    return replace(report, **extra)


def _walk(session: Session, keys: list[bytes], *, tz: tzinfo = UTC) -> ChainReport:
    expected_prev, expected_seq, count = GENESIS_HASH, 1, 0
    last_hash, last_seq = GENESIS_HASH, 0
    current_seen = False  # an entry sealed by the current key: every later one must be too (keys only move on)
    for entry in session.exec(select(AuditEntry).order_by(AuditEntry.seq)):
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
        sealed_by = next((i for i, key in enumerate(keys) if hmac.compare_digest(_seal(key, entry), entry.hash)), None)
        if sealed_by is None:
            if _sealed_by_none(session, keys):
                return ChainReport(
                    False, count, last_seq, last_hash, entry.seq,
                    "日志不是用本系统的密钥签名的：没有一条记录能用 KAOPING_SECRET_KEY（及 KAOPING_PREVIOUS_SECRET_KEYS）验证——"
                    "日志被人用另一个密钥整体重新签名，这就是篡改。（只有一种例外：本机设置的密钥不是写入日志时的密钥，例如更换密钥后"
                    "没有把旧密钥列入 KAOPING_PREVIOUS_SECRET_KEYS；请运维人员先核对密钥，再用日志之外的锚点核对。）"
                    " / No entry verifies under any key kaoping knows: the log was re-sealed with another key (tampering),"
                    " unless this machine's KAOPING_SECRET_KEY is not the one the log was written with.",
                    foreign_key=True)
            return ChainReport(
                False, count, last_seq, last_hash, entry.seq,
                f"第 {entry.seq} 条记录（{entry.action}，{local_time(entry.at, tz, seconds=True)} {tz}）的内容在写入后被改动。"
                f" / entry {entry.seq} was edited after it was written.",
            )
        if sealed_by > 0 and current_seen:
            return ChainReport(
                False, count, last_seq, last_hash, entry.seq,
                f"第 {entry.seq} 条记录是用旧密钥签名的，但它之前已有用当前密钥签名的记录：日志在更换密钥之后被人用旧密钥改写。"
                f" / entry {entry.seq} is sealed with a previous key after entries sealed with the current one.",
            )
        current_seen = current_seen or sealed_by == 0
        expected_prev, expected_seq = entry.hash, expected_seq + 1
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
