"""The province cycle serial and on 2 Dask workers, side by side (issue 29 item 4): runs
``benchmarks.cycle_province`` once per (backend, task runner) — each in a process of its own, one after the
other, so each has the machine to itself — and prints one table, stage by stage.

``--units N`` (default 600), ``--backends sqlite,postgresql`` (default both), ``--runners serial,dask``
(default both; ``dask`` needs ``kaoping[scale]``, which ``make bench`` installs). On PostgreSQL the Prefect server
runs on PostgreSQL too (``--prefect-db postgresql``: production's topology); on SQLite it is the test harness's. At 600 units the four runs
take the best part of an hour on the 2-core machine; ``--units 60`` gives the shape in minutes."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys


def one(units: int, backend: str, runner: str) -> dict | None:
    done = subprocess.run([sys.executable, "-m", "benchmarks.cycle_province", "--units", str(units), "--backend", backend,
                           "--task-runner", runner, "--prefect-db", backend], capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        print(f"{backend}/{runner}: failed (exit {done.returncode})\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(lines[-1].removeprefix("RESULT "))


def table(results: dict[str, dict]) -> str:
    columns = list(results)
    stages = list(next(iter(results.values()))["stages_s"])
    rows = ["| stage | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for stage in stages:
        rows.append(f"| {stage} | " + " | ".join(f"{results[c]['stages_s'].get(stage, float('nan')):.1f}" for c in columns) + " |")
    rows.append("| **kaoping's stages** | " + " | ".join(f"**{results[c]['total_s']:.1f}**" for c in columns) + " |")
    rows.append("| emails | " + " | ".join(str(results[c]["emails"]) for c in columns) + " |")
    rows.append("| 通报 (KB) | " + " | ".join(str(results[c]["tongbao_kb"]) for c in columns) + " |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=600)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--runners", default="serial,dask")
    args, _ = parser.parse_known_args()
    results: dict[str, dict] = {}
    failed = 0
    for backend in args.backends.split(","):
        for runner in args.runners.split(","):
            print(f"-- {args.units} units, {backend}, {runner} …", flush=True)
            result = one(args.units, backend, runner)
            if result is None:
                failed = 1
                continue
            results[f"{backend} {runner}"] = result
            print(f"   kaoping's stages {result['total_s']:.1f} s (target < 180 s at 600 units)", flush=True)
    if results:
        print(f"\nThe province cycle at {args.units} units, s (one run each, one after the other):\n")
        print(table(results))
        print("RESULT " + json.dumps({k: {"total_s": v["total_s"], "stages_s": v["stages_s"]} for k, v in results.items()},
                                     ensure_ascii=False))
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
