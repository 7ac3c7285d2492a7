"""The province benchmark's smoke form (issue 29 item 0): ``benchmarks/cycle_province.py --units 60`` runs the
whole cycle through the real flows — open, issue, intake of returns that carry their senders, lead sheets,
the second intake, verification, the objection window, approval, publication — and closes the cycle. The
benchmark is not a test, so this is what keeps it from breaking silently again (it once stopped in the second
intake when returned files without a sender began to be held). Timings are the benchmark's business, not this
test's: it checks that every stage ran and what the cycle sent."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_the_province_benchmark_runs_through_at_60_units(tmp_path):
    if importlib.util.find_spec("prefect_dask") is not None:
        pytest.skip("已由 tests/e2e/test_dask.py 覆盖：它以串行和 Dask 各运行一次本基准（单位数见 test_dask.UNITS）并作同样的检查")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAOPING_", "PREFECT_"))}
    env["TMPDIR"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "benchmarks.cycle_province", "--units", "60"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [line] = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    result = json.loads(line.removeprefix("RESULT "))
    assert result["units"] == 60 and result["backend"] == "SQLite"
    stages = result["stages_s"]
    assert len(stages) == 8 and any("征求意见稿" in s for s in stages) and any("印发" in s for s in stages)
    # Forms, receipts, invitations, sign-off codes, provisional letters and the distribution: far more than 60.
    assert result["emails"] > 300
