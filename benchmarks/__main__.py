"""`python -m benchmarks`: run every benchmark, each in its own process (clean peak memory)."""

from __future__ import annotations

import os
import subprocess
import sys

# The cycle: serial and on 2 Dask workers, on SQLite and PostgreSQL (cycle_compare runs cycle_province four times).
BENCHMARKS = ["benchmarks.demo_fresh_clone", "benchmarks.rules_province", "benchmarks.documents_province",
              "benchmarks.mail_throughput", "benchmarks.visits_province", "benchmarks.cycle_compare",
              "benchmarks.intake_memory", "benchmarks.imap_intake"]


def main() -> int:
    failed = 0
    for module in BENCHMARKS:
        print(f"\n=== {module} ===", flush=True)
        # Arguments (``make bench BENCH_ARGS="--units 60 --backends sqlite"``) are the province cycle's.
        args = sys.argv[1:] if module == "benchmarks.cycle_compare" else []
        failed |= subprocess.call([sys.executable, "-m", module, *args], env=os.environ.copy())
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
