"""The flows' pure work on Dask (issue 29 item 4): the province cycle of ``benchmarks/cycle_province.py``
run twice — serial, and with ``--task-runner dask`` on a ``LocalCluster(n_workers=2, processes=True)`` reached through
``KAOPING_DASK_ADDRESS`` — through issue, intake and publish (and everything between: the lead sheets, the second
intake, the sign-offs, the provisional letters). The Dask run must have handed every kind of pure work (forms,
reading returned files, 反馈函 in draft and published) to two worker processes other than the run's own, and both runs
must leave the same documents and the same database.

"The same document": every part of the Word file byte for byte, in the same order. Two things are not compared, as
no two runs of kaoping can share them: the zip entries' timestamps (python-docx stamps the time of saving) and the
audit seal in a published document's properties (an HMAC over entries that carry the time they were written; the
sequence number beside it is compared). "The same database": every row of every table (ids included), without the
columns that hold times, seals and hashes over them, random codes, Prefect's run ids and the digests and bytes of
files, and with such values masked where they stand in a text (``VOLATILE``, ``VOLATILE_TEXT``)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest

pytest.importorskip("prefect_dask", reason="prefect-dask 未安装（pip install -e '.[scale]'；make test 会安装）：跳过 Dask 测试")

ROOT = Path(__file__).resolve().parents[2]

# Two runs of the cycle at 60 units took 19 min 25 s on the shared 2-core machine at load 8–12 and 8 min 24 s with
# the rest of the suite beside it; at 20 units, 6 min in CI (2026-12-07). Most of a run is the cycle's fixed part
# (26 lead sheets, the Prefect runs, the sign-offs), not the units: the test runs it at UNITS units in batches of
# BATCH items per Dask task — small batches, so every kind of work still spans both worker processes. At any
# size, `python -m benchmarks.cycle_province --units N --task-runner dask` measures it (benchmarks/README.md).
UNITS, BATCH = 8, 2
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

#: what each kind of pure work is called in the run's log (flows/tasks.py: ``fanout(label)``)
WORK = ("生成自评表", "生成实地调研记录表", "生成评分表", "识别交回的文件", "生成反馈函（征求意见稿）", "生成反馈函")
#: one form each (the evaluator's and the survey's results sheets): one batch, one worker
ONE_FORM = ("生成第三方评估结果表", "生成民意调查结果表")

#: columns no two runs share: the time things were written, seals and hashes over them, codes (random), the claim of a
#: sender, Prefect's run ids, and the digests and bytes of files (a Word file's zip entries carry the time it was saved)
VOLATILE = {"at", "created_at", "sent_at", "expires_at", "decided_at", "claimed_until", "claimed_by", "opened_at",
            "hash", "prev_hash", "code_hmac", "message_id", "flow_run_id", "audit_anchor", "sealed_secret",
            "sha256", "data", "size"}
#: in what a row says: a file's digest and size (an attachment, compressed, with the seal in it), a moment of the
#: wall clock (a code's expiry), a link to the run in the Prefect UI (the test server's port, the run's id); the
#: run's own folder and the day it ran (``_plain``)
VOLATILE_TEXT = (re.compile(r"[0-9a-f]{64}"), re.compile(r"(?:\d{4}年)?\d{1,2}月\d{1,2}日 ?\d{2}:\d{2}"),
                 re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)?"),
                 re.compile(r"http://127\.0\.0\.1:\d+/[^\s\"'<]*"), re.compile(r'"size": \d+'))
#: the wall-clock days the two runs may have run on (a sign-off email is dated the day it was sent)
TODAY = tuple(f"{d.year}年{d.month}月{d.day}日" for d in (date.today() + timedelta(days=n) for n in (-1, 0, 1)))
ANCHOR = re.compile(rb"kaoping-audit-anchor([ :])(\d+):[0-9a-f]+")


def run(tmp_path: Path, runner: str) -> tuple[dict, Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAOPING_", "PREFECT_"))}
    env["TMPDIR"] = str(tmp_path)
    env["KAOPING_DASK_BATCH"] = str(BATCH)
    keep = tmp_path / runner
    done = subprocess.run([sys.executable, "-m", "benchmarks.cycle_province", "--units", str(UNITS), "--task-runner", runner,
                           "--keep", str(keep)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [line] = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    result = json.loads(line.removeprefix("RESULT "))
    assert result["units"] == UNITS and result["task_runner"] == runner
    assert len(result["stages_s"]) == 8 and result["emails"] > UNITS * 5
    return result, keep / "var"


def _plain(value, folder: str) -> str:
    text = str(value).replace(folder, "<run>")
    for day in TODAY:
        text = text.replace(day, "<今天>")
    for pattern in VOLATILE_TEXT:
        text = pattern.sub("…", text)
    return text


def database(var: Path) -> dict[str, list[tuple]]:
    """Every row of every table (sorted), without the volatile columns and with the volatile text masked."""
    folder = str(var.parent)
    with sqlite3.connect(var / "kaoping.sqlite3") as con:
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        out = {}
        for table in tables:
            columns = [c[1] for c in con.execute(f'PRAGMA table_info("{table}")') if c[1] not in VOLATILE]
            query = f'SELECT {", ".join(chr(34) + c + chr(34) for c in columns)} FROM "{table}"' if columns else \
                f'SELECT 1 FROM "{table}"'
            out[table] = sorted(tuple(_plain(v, folder) for v in row) for row in con.execute(query))
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
    for label in ONE_FORM:
        assert len(dask["workers"].get(label, [])) == 1 and dask["pid"] not in dask["workers"][label]

    ours, theirs = documents(serial_var), documents(dask_var)
    assert len(ours) > UNITS * 4 and sorted(ours) == sorted(theirs)
    changed = [name for name in ours if ours[name] != theirs[name]]
    assert not changed, changed[:5]

    rows, other = database(serial_var), database(dask_var)
    assert rows.keys() == other.keys() and sum(map(len, rows.values())) > UNITS * 15
    different = {t: next(([a, b] for a, b in zip(rows[t], other[t]) if a != b), (len(rows[t]), len(other[t])))
                 for t in rows if rows[t] != other[t]}
    assert not different, different
