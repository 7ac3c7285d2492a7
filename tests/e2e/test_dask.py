"""The flows' pure work on Dask (issue 29 item 4): the 60-unit province cycle of ``benchmarks/cycle_province.py``
run twice — serial, and with ``--task-runner dask`` on a ``LocalCluster(n_workers=2, processes=True)`` reached through
``KAOPING_DASK_ADDRESS`` — through issue, intake and publish (and everything between: the lead sheets, the second
intake, the sign-offs, the provisional letters). The Dask run must have handed every kind of pure work (forms,
reading returned files, 反馈函 in draft and published) to two worker processes other than the run's own, and both runs
must leave the same documents and the same database.

"The same document": every part of the Word file byte for byte, in the same order. Two things are not compared, as
no two runs of kaoping can share them: the zip entries' timestamps (python-docx stamps the time of saving) and the
audit seal in a published document's properties (an HMAC over entries that carry the time they were written; the
sequence number beside it is compared). "The same database": every row of every table, without the columns that
hold times, surrogate ids, seals, digests of such files, tokens and paths of the run's folder."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("prefect_dask", reason="prefect-dask 未安装（pip install -e '.[scale]'；make test 会安装）：跳过 Dask 测试")

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e

#: what each kind of pure work is called in the run's log (flows/tasks.py: ``fanout(label)``)
WORK = ("生成自评表", "生成第三方评估结果表", "生成民意调查结果表", "生成实地调研记录表", "生成牵头考核单位评分表",
        "识别交回的文件", "生成反馈函（征求意见稿）", "生成反馈函")

VOLATILE = re.compile(r"(^id$|_id$|_at$|^created$|^updated$|seal|sha256|digest_of_file|token|hash|message_id|claim|^path$)")
ANCHOR = re.compile(rb"kaoping-audit-anchor([ :])(\d+):[0-9a-f]+")


def run(tmp_path: Path, runner: str) -> tuple[dict, Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAOPING_", "PREFECT_"))}
    env["TMPDIR"] = str(tmp_path)
    keep = tmp_path / runner
    done = subprocess.run([sys.executable, "-m", "benchmarks.cycle_province", "--units", "60", "--task-runner", runner,
                           "--keep", str(keep)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [line] = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    result = json.loads(line.removeprefix("RESULT "))
    assert result["units"] == 60 and result["task_runner"] == runner
    assert len(result["stages_s"]) == 8 and result["emails"] > 300
    return result, keep / "var"


def database(var: Path) -> dict[str, list[str]]:
    with sqlite3.connect(var / "kaoping.sqlite3") as con:
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        out = {}
        for table in tables:
            columns = [c[1] for c in con.execute(f'PRAGMA table_info("{table}")') if not VOLATILE.search(c[1])]
            if columns:
                out[table] = sorted(repr(r) for r in con.execute(f'SELECT {", ".join(f"{c!r}" for c in columns)} FROM "{table}"'))
    return out


def documents(var: Path) -> dict[str, list[tuple[str, bytes]]]:
    """Every Word file kaoping wrote (forms, provisional letters and 异议表, the published documents), by path."""
    out = {}
    for folder in ("forms", "objections", "reports"):
        for path in sorted((var / folder).rglob("*.docx")):
            with zipfile.ZipFile(path) as archive:
                out[str(path.relative_to(var))] = [(i.filename, ANCHOR.sub(rb"kaoping-audit-anchor\1\2", archive.read(i)))
                                                   for i in archive.infolist()]
    return out


def test_the_pure_work_runs_on_two_dask_workers_and_changes_nothing(tmp_path):
    serial, serial_var = run(tmp_path, "serial")
    dask, dask_var = run(tmp_path, "dask")

    assert serial["workers"] == {}  # serial: nothing left the run's process
    for label in WORK:
        pids = dask["workers"].get(label, [])
        assert len(pids) == 2 and dask["pid"] not in pids, (label, pids, dask["pid"])

    ours, theirs = documents(serial_var), documents(dask_var)
    assert len(ours) > 60 * 4 and sorted(ours) == sorted(theirs)
    changed = [name for name in ours if ours[name] != theirs[name]]
    assert not changed, changed[:5]

    rows, other = database(serial_var), database(dask_var)
    assert rows.keys() == other.keys() and sum(map(len, rows.values())) > 1000
    different = {t: (len(rows[t]), len(other[t])) for t in rows if rows[t] != other[t]}
    assert not different, different
