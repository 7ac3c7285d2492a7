"""A backup of everything kaoping keeps, in one file, and its restoration (备份与恢复).

``write_backup`` writes a ``.tar.gz`` holding

- ``database/NNN-<table>.jsonl``: every table, row by row, read in one consistent snapshot (a
  REPEATABLE READ transaction on PostgreSQL, one read transaction on SQLite), each value as the
  models read it (exact decimals, aware times, JSON, bytes) — so a backup restores on either
  database, e.g. from a trial on SQLite into the office's PostgreSQL;
- ``files/…``: the files under ``KAOPING_VAR_DIR`` that are records (received files, issued forms,
  published documents, provisional letters, outbox attachments, the audit anchor file);
- ``manifest.json``: the schema revision, the audit head at the moment of the backup (an anchor),
  the size and SHA-256 of every member, what the caller adds (e.g. a digest of each cycle's results)
  — signed with ``KAOPING_SECRET_KEY`` (HMAC), so a backup altered afterwards is refused.

The file is written under a temporary name and renamed when complete (a full disk leaves no
partial backup). ``read_backup`` checks everything — signature, members, sizes, checksums, names —
before ``restore_backup`` writes anything: into an empty database (never over data) and a
``KAOPING_VAR_DIR`` holding nothing that differs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath

from sqlalchemy import JSON, Date, LargeBinary, func, select, text
from sqlmodel import SQLModel

from kaoping import db
from kaoping.adapters.files import write_atomically
from kaoping.domain.errors import Conflict, InvalidInput
from kaoping.models.types import ExactDecimal, UTCDateTime, utcnow
from kaoping.records import audit
from kaoping.settings import Settings

FORMAT = "kaoping-backup/1"
MANIFEST = "manifest.json"
#: What under KAOPING_VAR_DIR is a record (everything else — the SQLite file, locks, the inbox folder
#: the intake empties, staging folders — is not copied: the database goes in as its rows).
RECORD_FOLDERS = ("received", "forms", "reports", "objections", "outbox")
RECORD_FILES = (audit.ANCHOR_FILE,)
_CHUNK = 1 << 20


def tables():
    """kaoping's tables, parents before children (the order rows are restored in)."""
    import kaoping.models  # noqa: F401  (every table registered on the metadata)

    return list(SQLModel.metadata.sorted_tables)


# --------------------------------------------------------------------------- values


def _dump(column, value):
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, JSON):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return getattr(value, "value", value)  # a StrEnum as its text


def _load(column, value):
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, ExactDecimal):
        return Decimal(value)
    if isinstance(kind, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    if isinstance(kind, LargeBinary):
        return base64.b64decode(value)
    return value


# --------------------------------------------------------------------------- writing


@dataclass
class BackupSummary:
    path: Path
    tables: int
    rows: int
    files: int
    size: int
    audit_head: tuple[int, str]


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _snapshot(connection) -> None:
    """Every table read as of one instant."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    else:
        connection.exec_driver_sql("BEGIN")  # SQLite (WAL): the first read fixes the snapshot


def _dump_tables(settings: Settings, folder: Path) -> tuple[dict, tuple[int, str]]:
    """Each table into ``folder`` as JSON lines; (per table: rows and checksum, the audit head)."""
    listed: dict[str, dict] = {}
    engine = db.get_engine(settings)
    with engine.connect() as connection:
        with connection.begin():
            _snapshot(connection)
            for number, table in enumerate(tables(), start=1):
                path = folder / f"{number:03d}-{table.name}.jsonl"
                columns = list(table.columns)
                count = 0
                with path.open("w", encoding="utf-8") as out:
                    out.write(json.dumps({"table": table.name, "columns": [c.name for c in columns]}, ensure_ascii=False) + "\n")
                    query = select(*columns).order_by(*table.primary_key.columns)
                    for row in connection.execution_options(yield_per=1000).execute(query):
                        out.write(json.dumps([_dump(c, v) for c, v in zip(columns, row, strict=True)],
                                             ensure_ascii=False, separators=(",", ":")) + "\n")
                        count += 1
                listed[table.name] = {"member": f"database/{path.name}", "rows": count}
            entry = connection.execute(text("SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1")).first()
    head = (entry[0], entry[1]) if entry else (0, audit.GENESIS_HASH)
    return listed, head


def record_files(settings: Settings) -> list[tuple[str, Path]]:
    """(name in the backup, path) of every record file under ``KAOPING_VAR_DIR``."""
    root = settings.var_dir
    found = []
    for folder in RECORD_FOLDERS:
        base = root / folder
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                relative = path.relative_to(root)
                if path.is_file() and not path.is_symlink() and not any(p.startswith(".") for p in relative.parts):
                    found.append((f"files/{relative.as_posix()}", path))
    for name in RECORD_FILES:
        if (root / name).is_file():
            found.append((f"files/{name}", root / name))
    return found


def sign_manifest(manifest: dict, key: bytes) -> str:
    body = json.dumps({k: v for k, v in manifest.items() if k != "signature"}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def write_backup(settings: Settings, out: Path, *, extra: dict | None = None) -> BackupSummary:
    """The database and the record files into one signed ``.tar.gz`` at ``out`` (see the module's docstring)."""
    current, head = db.schema_status(settings)
    if current != head:
        raise Conflict(f"数据库结构不是最新（{current or '未初始化'}，应为 {head}）：请先运行 `kaoping db upgrade`，再备份。")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".kaoping-backup-", dir=out.parent) as scratch:
        listed, audit_head = _dump_tables(settings, Path(scratch))
        members: dict[str, dict] = {}
        for info in listed.values():
            path = Path(scratch) / PurePosixPath(info["member"]).name
            members[info["member"]] = {"size": path.stat().st_size, "sha256": _sha256_file(path)}
        files = record_files(settings)
        for name, path in files:
            members[name] = {"size": path.stat().st_size, "sha256": _sha256_file(path)}
        manifest = {"format": FORMAT, "created_at": utcnow().isoformat(), "schema": current,
                    "database": settings.effective_database_url.split(":", 1)[0].split("+")[0],
                    "audit_head": {"seq": audit_head[0], "seal": audit_head[1]}, "tables": listed,
                    "members": members, **(extra or {})}
        manifest["signature"] = sign_manifest(manifest, settings.secret_key.get_secret_value().encode("utf-8"))

        def write(tmp: Path) -> None:
            with tmp.open("wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
                data = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime = len(data), int(utcnow().timestamp())
                archive.addfile(info, io.BytesIO(data))
                for member in listed.values():
                    archive.add(Path(scratch) / PurePosixPath(member["member"]).name, arcname=member["member"], recursive=False)
                for name, path in files:
                    archive.add(path, arcname=name, recursive=False)
                archive.close()
                raw.flush()
                os.fsync(raw.fileno())

        write_atomically(out, write)
    return BackupSummary(out, len(listed), sum(t["rows"] for t in listed.values()), len(files), out.stat().st_size,
                         audit_head)


# --------------------------------------------------------------------------- reading and restoring


@dataclass
class Backup:
    """A backup file checked end to end (``read_backup``): its manifest and where it is."""

    path: Path
    manifest: dict
    problems: list[str] = field(default_factory=list)


def _refuse(path: Path, why: str) -> InvalidInput:
    return InvalidInput(f"备份文件 {path.name} 不能恢复：{why}未作任何改动。 / The backup cannot be restored.")


def _safe_member(name: str) -> bool:
    pure = PurePosixPath(name)
    return (not pure.is_absolute() and ".." not in pure.parts and (name == MANIFEST or pure.parts[0] in ("database", "files"))
            and len(pure.parts) >= (1 if name == MANIFEST else 2))


def read_backup(settings: Settings, path: Path) -> Backup:
    """The backup at ``path``, every member checked against the signed manifest; a refusal naming
    what is wrong otherwise (nothing is written)."""
    path = Path(path)
    try:
        return _read(settings, path)
    except (EOFError, zlib.error, tarfile.TarError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise InvalidInput(f"找不到备份文件 {path}。") from None
        raise _refuse(path, f"文件不完整或已损坏，或不是 kaoping 的备份文件（{exc.__class__.__name__}）。") from None


def _read(settings: Settings, path: Path) -> Backup:
    with tarfile.open(path, mode="r:gz") as archive:
        try:
            manifest_member = archive.getmember(MANIFEST)
            manifest = json.loads(archive.extractfile(manifest_member).read().decode("utf-8"))
        except (KeyError, ValueError, AttributeError, tarfile.TarError):
            raise _refuse(path, "没有可读的清单（manifest.json）。") from None
        if manifest.get("format") != FORMAT:
            raise _refuse(path, f"格式 {manifest.get('format')!r} 不是 {FORMAT}。")
        if not any(hmac.compare_digest(sign_manifest(manifest, key), str(manifest.get("signature", "")))
                   for key in settings.form_keys):
            raise _refuse(path, "清单的签名与当前密钥不符——备份在生成后被改动过，或 KAOPING_SECRET_KEY 与备份时不同"
                                "（恢复须使用备份时的密钥）。")
        expected = dict(manifest.get("members", {}))
        seen: set[str] = set()
        for member in archive:
            if member.name == MANIFEST:
                continue
            if not member.isfile() or not _safe_member(member.name):
                raise _refuse(path, f"含有不应有的内容 {member.name!r}（只能是数据表和记录文件）。")
            want = expected.get(member.name)
            if want is None:
                raise _refuse(path, f"含有清单之外的文件 {member.name}。")
            digest = hashlib.sha256()
            handle = archive.extractfile(member)
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
            if member.size != want["size"] or digest.hexdigest() != want["sha256"]:
                raise _refuse(path, f"{member.name} 与清单不符（内容被改动或文件已损坏）。")
            seen.add(member.name)
        missing = sorted(set(expected) - seen)
        if missing:
            raise _refuse(path, f"缺少 {len(missing)} 个文件（如 {missing[0]}）：备份不完整。")
    return Backup(path, manifest)


@dataclass
class Restored:
    tables: int
    rows: int
    files: int
    skipped_files: int


def _database_is_empty(settings: Settings) -> bool:
    current, _ = db.schema_status(settings)
    if current is None:
        return True
    with db.get_engine(settings).connect() as connection:
        return all(connection.execute(select(func.count()).select_from(t)).scalar() == 0 for t in tables())


def _file_targets(settings: Settings, backup: Backup) -> tuple[list[tuple[str, Path]], int, list[str]]:
    """(member, target) to write; how many are there already, identical; which differ (a refusal)."""
    root = settings.var_dir.resolve()
    writes, same, differ = [], 0, []
    for name, want in backup.manifest["members"].items():
        if not name.startswith("files/"):
            continue
        target = (root / PurePosixPath(name).relative_to("files")).resolve()
        if root not in target.parents:
            raise _refuse(backup.path, f"{name} 指向 KAOPING_VAR_DIR 之外。")
        if target.exists():
            if target.is_file() and _sha256_file(target) == want["sha256"]:
                same += 1
                continue
            differ.append(str(target))
        writes.append((name, target))
    return writes, same, differ


def restore_backup(settings: Settings, backup: Backup) -> Restored:
    """Restore ``backup`` (checked by ``read_backup``) into this deployment's empty database and its
    ``KAOPING_VAR_DIR``: the schema at the backup's revision, every row, every record file."""
    schema = backup.manifest["schema"]
    current, head = db.schema_status(settings)
    if schema != head:
        raise Conflict(f"备份的数据库结构为 {schema}，本版本 kaoping 为 {head}：请用与备份时相同版本的 kaoping 恢复，"
                       "再升级（kaoping db upgrade）。 / The backup was made by another version of kaoping.")
    if not _database_is_empty(settings):
        raise Conflict("目标数据库中已有数据：恢复只写入空数据库，不会覆盖现有记录。请新建一个空数据库（不要运行 kaoping init），"
                       "把 KAOPING_DATABASE_URL 指向它后再恢复。 / Restore only into an empty database.")
    writes, same, differ = _file_targets(settings, backup)
    if differ:
        raise Conflict(f"KAOPING_VAR_DIR 中已有 {len(differ)} 个与备份不同的文件（如 {differ[0]}）：请恢复到一个新的 "
                       "KAOPING_VAR_DIR，或先把现有文件移走。 / The var folder holds different files.")
    with tarfile.open(backup.path, mode="r:gz") as archive:
        for name, target in writes:  # files first: the database then refers only to files that are there
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = archive.extractfile(name)

            def write(tmp: Path, handle=handle) -> None:
                with tmp.open("wb") as out:
                    while chunk := handle.read(_CHUNK):
                        out.write(chunk)

            write_atomically(target, write)
        db.upgrade(settings, schema)
        rows = _insert_rows(settings, archive, backup)
    return Restored(len(backup.manifest["tables"]), rows, len(writes), same)


def _insert_rows(settings: Settings, archive: tarfile.TarFile, backup: Backup) -> int:
    by_name = {t.name: t for t in tables()}
    total = 0
    engine = db.get_engine(settings)
    with engine.begin() as connection:
        for name, info in backup.manifest["tables"].items():
            table = by_name[name]
            lines = io.TextIOWrapper(archive.extractfile(info["member"]), encoding="utf-8")
            header = json.loads(lines.readline())
            columns = [table.columns[c] for c in header["columns"]]
            batch = []
            for line in lines:
                values = json.loads(line)
                batch.append({c.name: _load(c, v) for c, v in zip(columns, values, strict=True)})
                if len(batch) == 1000:
                    connection.execute(table.insert(), batch)
                    total += len(batch)
                    batch = []
            if batch:
                connection.execute(table.insert(), batch)
                total += len(batch)
        if connection.dialect.name == "postgresql":
            for table in by_name.values():
                if list(table.primary_key.columns.keys()) == ["id"]:
                    connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                            f"COALESCE((SELECT MAX(id) FROM \"{table.name}\"), 1), "
                                            f"(SELECT MAX(id) FROM \"{table.name}\") IS NOT NULL)"))
    return total
