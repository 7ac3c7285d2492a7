"""`kaoping archive --cycle 2022H1 --out DIR`: everything one cycle produced and received, for
归档 — the published 公文, the 征求意见稿 and 异议表, every form issued, every file and email
received for it (refused and held ones too), the results, the emails sent, the numbers taken, the
sign-offs and the cycle's audit entries — with an index (索引.csv) that gives each file's kind,
source, time, status, size and SHA-256, and a 说明.txt with the audit head at the moment of
archiving. Written in a staging folder and moved into ``DIR`` when complete.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, select

from kaoping.adapters.files import staged_folder, write_bytes_atomically
from kaoping.domain.errors import KaopingError
from kaoping.models import (
    AuditEntry,
    ComponentScore,
    Cycle,
    DocNumber,
    LeadScore,
    MailboxMessage,
    Objection,
    ObjectionOpinion,
    OutboxMessage,
    ReceivedFile,
    SignoffRequest,
    Submission,
)
from kaoping.models.types import utcnow
from kaoping.records import audit
from kaoping.services.cycles.cycle import cycle_label
from kaoping.services.scoring.results import compute_cycle, result_rows
from kaoping.settings import Settings

FOLDERS = {"reports": "01-印发的公文", "objections": "02-征求意见稿和异议表", "forms": "03-下发的表格",
           "received": "04-收到的文件", "data": "05-数据和记录"}


@dataclass
class Archived:
    out_dir: Path
    files: int
    received: int
    index: Path
    notes: list[str] = field(default_factory=list)


@dataclass
class _Entry:
    path: str  # inside the archive
    kind: str
    description: str
    source: str = ""
    when: str = ""
    status: str = ""
    sha256: str = ""
    size: int = 0


def _csv(rows: list[list], header: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")  # Excel and WPS open it as written


def _cycle_files(session: Session, cycle: Cycle) -> list[ReceivedFile]:
    """Every file received for ``cycle``: returned forms (any status), objection replies and forms, the
    files its scores, submissions and objections came from, and the raw emails that carried them."""
    prefix = f"{cycle.code}-"
    ids = set()
    for column, cycle_column in ((Submission.received_file_id, Submission.cycle_id),
                                 (LeadScore.received_file_id, LeadScore.cycle_id),
                                 (ComponentScore.received_file_id, ComponentScore.cycle_id)):
        ids |= {i for i in session.exec(select(column).where(cycle_column == cycle.id)) if i is not None}
    for objection in session.exec(select(Objection).where(Objection.cycle_id == cycle.id)):
        ids |= {a.get("received_file_id") for a in objection.attachments or [] if isinstance(a, dict)}
    ids |= set(session.exec(select(ObjectionOpinion.received_file_id).join(Objection)
                            .where(Objection.cycle_id == cycle.id, ObjectionOpinion.received_file_id.is_not(None))))
    chosen = []
    for record in session.exec(select(ReceivedFile).order_by(ReceivedFile.id)):
        details = record.details or {}
        if (record.id in ids or str(details.get("form_no", "")).startswith(prefix) or details.get("cycle") == cycle.code):
            chosen.append(record)
    carried = {r.id for r in chosen}
    for message in session.exec(select(MailboxMessage)):
        forms = [f.get("form_no", "") for f in ((message.details or {}).get("files") or {}).values()]
        if any(str(f).startswith(prefix) for f in forms) and message.raw_file_id not in carried:
            raw = session.get(ReceivedFile, message.raw_file_id)
            if raw is not None:
                chosen.append(raw)
    return sorted(chosen, key=lambda r: r.id)


def _copy_folder(source: Path, target: Path, kind: str, entries: list[_Entry], staging: Path) -> None:
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(source).parts):
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
            entries.append(_Entry(destination.relative_to(staging).as_posix(), kind, path.name, size=path.stat().st_size,
                                  sha256=_sha256(destination)))


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _received(settings: Settings, session: Session, cycle: Cycle, staging: Path, entries: list[_Entry]) -> int:
    folder = staging / FOLDERS["received"]
    folder.mkdir(parents=True, exist_ok=True)
    records = _cycle_files(session, cycle)
    for record in records:
        stored = settings.received_dir / record.sha256[:2] / record.sha256
        safe = "".join(c for c in record.filename if c not in '\\/:*?"<>|\r\n\t') or "文件"
        name = f"{record.id:05d}-{record.status}-{safe}"[:200]
        if stored.is_file():
            shutil.copyfile(stored, folder / name)
        else:  # refused before it could be read (a link, a device): recorded, not stored
            (folder / f"{name}.未保存.txt").write_text((record.details or {}).get("not_stored", "内容未保存"), encoding="utf-8")
            name = f"{name}.未保存.txt"
        entries.append(_Entry(f"{FOLDERS['received']}/{name}", f"收到的文件（{record.purpose}）", record.reason or
                              str((record.details or {}).get("summary", "")), record.sender,
                              record.received_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M"), record.status,
                              record.sha256, record.size))
    return len(records)


def _data(settings: Settings, session: Session, cycle: Cycle, staging: Path, entries: list[_Entry]) -> list[str]:
    """The cycle's records as tables people open: results, emails sent, numbers, sign-offs, audit entries."""
    notes, tables = [], {}
    try:
        inputs, results = compute_cycle(session, cycle)
        rows = result_rows(inputs, results)
        tables["考评结果.csv"] = _csv([[r.get(k, "") for k in rows[0]] for r in rows], list(rows[0])) if rows else b""
    except KaopingError as exc:
        notes.append(f"结果尚不能计算：{str(exc).splitlines()[0]}")
    tz = settings.tz
    mails = session.exec(select(OutboxMessage).where(OutboxMessage.cycle_code == cycle.code).order_by(OutboxMessage.id))
    tables["发出的邮件.csv"] = _csv([[m.id, m.kind, "、".join(m.to or []), m.subject, m.status, m.message_id,
                                  m.sent_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if m.sent_at else ""] for m in mails],
                                 ["编号", "类别", "收件人", "主题", "状态", "Message-ID", "发出时间"])
    numbers = session.exec(select(DocNumber).where(DocNumber.cycle_code == cycle.code).order_by(DocNumber.id))
    tables["发文登记.csv"] = _csv([[n.prefix, n.year, n.serial, n.document, n.title] for n in numbers],
                                ["代字", "年份", "序号", "文件", "标题"])
    signoffs = session.exec(select(SignoffRequest).where(SignoffRequest.cycle_id == cycle.id).order_by(SignoffRequest.id))
    tables["签字记录.csv"] = _csv([[s.id, s.stage, s.signer_name, s.signer_email, s.status, s.decision, s.comments,
                                  s.decided_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if s.decided_at else ""]
                                 for s in signoffs], ["编号", "环节", "签字人", "邮箱", "状态", "决定", "意见", "签字时间"])
    entries_ = session.exec(select(AuditEntry).where(AuditEntry.cycle_code == cycle.code).order_by(AuditEntry.seq))
    tables["审计日志.csv"] = _csv([[e.seq, e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.entity,
                                  e.reason, json.dumps(e.before, ensure_ascii=False) if e.before else "",
                                  json.dumps(e.after, ensure_ascii=False) if e.after else "", e.hash] for e in entries_],
                                ["序号", "时间", "操作人", "动作", "对象", "原因", "修改前", "修改后", "签名"])
    folder = staging / FOLDERS["data"]
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in tables.items():
        write_bytes_atomically(folder / name, data)
        entries.append(_Entry(f"{FOLDERS['data']}/{name}", "记录", name.removesuffix(".csv"), sha256=_sha256(folder / name),
                              size=len(data)))
    return notes


def archive_cycle(session: Session, settings: Settings, cycle: Cycle, out_dir: Path) -> Archived:
    """Everything of ``cycle`` into ``out_dir`` (see the module's docstring)."""
    entries: list[_Entry] = []
    with staged_folder(out_dir) as staging:
        for key, source in (("reports", settings.var_dir / "reports" / cycle.code),
                            ("objections", settings.var_dir / "objections" / cycle.code),
                            ("forms", settings.forms_dir / cycle.code)):
            _copy_folder(source, staging / FOLDERS[key], FOLDERS[key].split("-", 1)[1], entries, staging)
        received = _received(settings, session, cycle, staging, entries)
        notes = _data(settings, session, cycle, staging, entries)
        index = _csv([[i, e.kind, e.path, e.description, e.source, e.when, e.status, e.size, e.sha256]
                      for i, e in enumerate(entries, start=1)],
                     ["序号", "类别", "文件", "说明", "来源", "时间", "状态", "大小（字节）", "SHA-256"])
        write_bytes_atomically(staging / "索引.csv", index)
        seq, seal = audit.head(session)
        readme = [f"{cycle_label(cycle)}数字政府建设考评 归档", "",
                  f"归档时间：{utcnow().astimezone(settings.tz).strftime('%Y-%m-%d %H:%M')}（{settings.timezone}）",
                  f"文件：{len(entries)} 个（其中收到的文件 {received} 个），清单见 索引.csv（含每个文件的 SHA-256）",
                  f"审计日志锚点：{seq}:{seal}（归档时的最新一条；可用 kaoping audit verify 核对）",
                  *[f"说明：{n}" for n in notes], "",
                  *[f"{folder}：{what}" for folder, what in (
                      (FOLDERS["reports"], "印发的通报、报告、反馈函和结果表"),
                      (FOLDERS["objections"], "异议期发出的征求意见稿反馈函和异议表"),
                      (FOLDERS["forms"], "下发的各类表格（每一版）"),
                      (FOLDERS["received"], "各单位和人员交回的全部文件和邮件（含退回、暂存的；文件名前为编号和状态）"),
                      (FOLDERS["data"], "考评结果、发出的邮件、发文登记、签字记录、本期审计日志"))]]
        write_bytes_atomically(staging / "说明.txt", ("\n".join(readme) + "\n").encode("utf-8"))
    return Archived(out_dir, len(entries), received, out_dir / "索引.csv", notes)
