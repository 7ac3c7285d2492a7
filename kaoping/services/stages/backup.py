"""`kaoping backup`, `kaoping restore`: everything kaoping keeps into one signed file, and back —
then proved: the restored audit log verifies against every anchor (the backup's own included) and
every cycle's results recompute to exactly what they were when the backup was made.

The file's format and its checks are ``kaoping.records.backup``'s; this module adds what needs the
services: a digest of each cycle's results in the manifest, and the proof after restoring.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, select

from kaoping import db
from kaoping.domain.errors import KaopingError
from kaoping.models import Cycle
from kaoping.records import audit
from kaoping.records import backup as files
from kaoping.services.scoring.results import compute_cycle, result_rows
from kaoping.settings import Settings


def results_digests(session: Session) -> dict[str, str | None]:
    """Each cycle's published results (every row, every figure) as one digest; None while a cycle
    cannot be computed yet (scores missing)."""
    digests: dict[str, str | None] = {}
    for cycle in session.exec(select(Cycle).order_by(Cycle.code)):
        try:
            inputs, results = compute_cycle(session, cycle)
        except KaopingError:
            digests[cycle.code] = None
            continue
        rows = json.dumps(result_rows(inputs, results), ensure_ascii=False, sort_keys=True, default=str)
        digests[cycle.code] = hashlib.sha256(rows.encode("utf-8")).hexdigest()
    return digests


def backup(settings: Settings, out: Path) -> files.BackupSummary:
    with db.session_scope(settings) as session:
        digests = results_digests(session)
    return files.write_backup(settings, out, extra={"results": digests})


@dataclass
class RestoreReport:
    restored: files.Restored
    audit_ok: bool
    audit: str  # what the verification of the audit log found, in words
    results: dict[str, str] = field(default_factory=dict)  # cycle → "一致" / "不一致" / "尚不能计算"

    @property
    def ok(self) -> bool:
        return self.audit_ok and all(v != "不一致" for v in self.results.values())


def restore(settings: Settings, path: Path) -> RestoreReport:
    """Check the backup, restore it into the empty database and var folder, and prove it."""
    checked = files.read_backup(settings, path)
    restored = files.restore_backup(settings, checked)
    head = checked.manifest["audit_head"]
    with db.session_scope(settings) as session:
        anchors = audit.read_anchors(session, settings)
        if head["seq"]:
            anchors.append(audit.Anchor(int(head["seq"]), str(head["seal"]), f"备份清单（{checked.path.name}）"))
        chain = audit.verify_chain(session, settings.secret_key.get_secret_value().encode("utf-8"), tz=settings.tz,
                                   anchors=anchors)
        now = results_digests(session)
    if chain.ok:
        words = f"审计日志完整：第 1–{chain.head_seq} 条，核对锚点 {chain.anchors} 个（含备份时的最新一条）"
    else:
        words = f"审计日志核验未通过：{chain.problem}"
    then = checked.manifest.get("results", {})
    compared = {code: ("尚不能计算" if digest is None and now.get(code) is None else
                       "一致" if now.get(code) == digest else "不一致") for code, digest in then.items()}
    return RestoreReport(restored, chain.ok, words, compared)
