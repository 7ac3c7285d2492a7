"""Issue 25 item 3, a new door knocked on as a stranger would: `kaoping restore` reads a file that
may have been altered, truncated or crafted. Every member is checked against the manifest, the
manifest against the secret, every name against the folders it may write to — before anything is
written. A refused backup leaves the database empty and the var folder untouched."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import inspect

from kaoping import db
from kaoping.records import backup as backup_files
from kaoping.settings import Settings
from tests import factories
from tests.conftest import cli_env

pytestmark = pytest.mark.layout_only  # reading the file is the same on either backend


@pytest.fixture
def made(initialized, settings, tmp_path) -> Path:
    factories.scored_cycle(settings, tmp_path)
    path = tmp_path / "kaoping.tar.gz"
    assert initialized("backup", "--out", str(path)).exit_code == 0
    return path


@pytest.fixture
def target(tmp_path, initialized) -> Settings:
    """An empty database and var folder to restore into; the `initialized` CLI now points at them."""
    empty = Settings(database_url=f"sqlite:///{tmp_path / 'target.sqlite3'}", var_dir=tmp_path / "target-var",
                     environment="development", _env_file=None)
    initialized.env.update(cli_env(empty))
    yield empty
    db.dispose_engine(empty.database_url)


def members(path: Path) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path, "r:gz") as archive:
        return {m.name: (m, archive.extractfile(m).read() if m.isfile() else b"") for m in archive.getmembers()}


def rebuilt(path: Path, out: Path, found: dict, *, extra: list[tarfile.TarInfo] = (), key: bytes | None = None) -> Path:
    """The backup rewritten with ``found``'s members (changed by the test); ``key``: the manifest's
    checksums brought up to date and re-signed with it (what someone holding that key could do)."""
    manifest = json.loads(found["manifest.json"][1])
    if key is not None:
        import hashlib

        for name, (_, data) in found.items():
            if name != "manifest.json" and name in manifest["members"]:
                manifest["members"][name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        manifest["signature"] = backup_files.sign_manifest(manifest, key)
        found["manifest.json"] = (found["manifest.json"][0], json.dumps(manifest, ensure_ascii=False).encode())
    with tarfile.open(out, "w:gz") as archive:
        for name, (info, data) in found.items():
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for info in extra:
            archive.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)
    return out


def untouched(target: Settings) -> None:
    assert not inspect(db.get_engine(target)).get_table_names()  # nothing created, let alone restored
    assert not target.var_dir.exists() or not any(target.var_dir.rglob("*"))


def _first_score_member(found: dict) -> str:
    return next(n for n in found if n.startswith("database/") and n.endswith("-component_score.jsonl"))


def test_a_score_changed_in_the_backup_is_refused(initialized, made, target, tmp_path):
    found = members(made)
    name = _first_score_member(found)
    info, data = found[name]
    lines = data.decode().splitlines()
    row = json.loads(lines[1])
    row = [("99" if isinstance(v, str) and v.replace(".", "").isdigit() and len(v) <= 6 else v) for v in row]
    found[name] = (info, "\n".join([lines[0], json.dumps(row, ensure_ascii=False), *lines[2:]]).encode() + b"\n")
    result = initialized("restore", str(rebuilt(made, tmp_path / "changed.tar.gz", found)))
    assert result.exit_code == 2 and "与清单不符" in result.output and "Traceback" not in result.output
    untouched(target)

    # The checksums brought up to date by someone without the secret: the manifest's signature gives it away.
    forged = rebuilt(made, tmp_path / "forged.tar.gz", members(tmp_path / "changed.tar.gz"), key=b"someone-elses-key-0123")
    result = initialized("restore", str(forged))
    assert result.exit_code == 2 and "签名" in result.output
    untouched(target)


def test_a_backup_restored_with_another_secret_is_refused(initialized, made, target):
    initialized.env["KAOPING_SECRET_KEY"] = "another-office-secret-" * 2
    result = initialized("restore", str(made))
    assert result.exit_code == 2 and "KAOPING_SECRET_KEY" in result.output
    untouched(target)


@pytest.mark.parametrize("name", ["files/../../outside.txt", "/etc/kaoping-owned", "database/../../outside.txt",
                                  "files/received/../../../outside.txt", "other/thing.txt"])
def test_a_member_that_would_write_outside_is_refused_even_when_signed(initialized, settings, made, target, tmp_path, name):
    found = members(made)
    info = tarfile.TarInfo(name)
    info.size = 5
    found[name] = (info, b"owned")
    manifest = json.loads(found["manifest.json"][1])
    manifest["members"][name] = {"size": 5, "sha256": ""}
    found["manifest.json"] = (found["manifest.json"][0], json.dumps(manifest).encode())
    crafted = rebuilt(made, tmp_path / "crafted.tar.gz", found, key=settings.secret_key.get_secret_value().encode())
    result = initialized("restore", str(crafted))
    assert result.exit_code == 2 and "不应有的内容" in result.output
    untouched(target)
    assert not (tmp_path / "outside.txt").exists() and not (tmp_path.parent / "outside.txt").exists()


def test_a_link_in_the_backup_is_refused(initialized, settings, made, target, tmp_path):
    link = tarfile.TarInfo("files/received/ab/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    crafted = rebuilt(made, tmp_path / "link.tar.gz", members(made), extra=[link],
                      key=settings.secret_key.get_secret_value().encode())
    result = initialized("restore", str(crafted))
    assert result.exit_code == 2 and "不应有的内容" in result.output
    untouched(target)


def test_a_truncated_or_foreign_file_is_one_line(initialized, made, target, tmp_path):
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(made.read_bytes()[: len(made.read_bytes()) // 2])
    foreign = tmp_path / "not-a-backup.tar.gz"
    foreign.write_bytes(b"PK\x03\x04 a zip, not a backup")
    for path in (cut, foreign):
        result = initialized("restore", str(path))
        assert result.exit_code == 2 and "Traceback" not in result.output and "不能恢复" in result.output
    untouched(target)
