"""`python -m benchmarks`: run every benchmark, each in its own process (clean peak memory)."""

from __future__ import annotations

import os
import subprocess
import sys

BENCHMARKS = ["benchmarks.rules_province", "benchmarks.documents_province", "benchmarks.mail_throughput", "benchmarks.visits_province",
              "benchmarks.cycle_province", "benchmarks.intake_memory", "benchmarks.imap_intake"]


def main() -> int:
    failed = 0
    for module in BENCHMARKS:
        print(f"\n=== {module} ===", flush=True)
        failed |= subprocess.call([sys.executable, "-m", module, *sys.argv[1:]], env=os.environ.copy())
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
