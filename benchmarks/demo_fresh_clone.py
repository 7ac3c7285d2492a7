"""`make demo` on a fresh clone (issue 29, the table's first two rows): clone this repository's committed
HEAD into a temporary folder, run `make demo` there exactly as a newcomer would — a new `.venv`, kaoping
installed into it (pip's wheel cache of this machine is used, as it would be on a second install) — and
report the install's time, the demo's own count ("用时 … 秒") and the whole. Targets: the whole < 120 s,
the demo's own < 60 s. ``--keep DIR`` keeps the clone."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", type=Path, default=None)
    args, _ = parser.parse_known_args()
    workdir = Path(tempfile.mkdtemp(prefix="kaoping-demo-bench-"))
    clone = workdir / "kaoping"
    try:
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAOPING_", "PREFECT_", "VIRTUAL_ENV"))}
        env["PYTHON"] = sys.executable  # the interpreter `make bench` runs under; its venv is not inherited
        started = time.perf_counter()
        subprocess.run(["make", "-s", ".venv/.installed-base"], cwd=clone, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        installed = time.perf_counter() - started
        done = subprocess.run(["make", "-s", "demo"], cwd=clone, env=env, capture_output=True, text=True)
        whole = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
            return 1
        own = re.search(r"用时 (\d+) 秒", done.stdout)
        print(f"make demo on a fresh clone: install {installed:.1f} s, demo {whole - installed:.1f} s "
              f"(its own count {own.group(1) if own else '?'} s), whole {whole:.1f} s (targets: whole < 120 s, demo < 60 s)")
        print("RESULT " + json.dumps({"install_s": round(installed, 1), "demo_s": round(whole - installed, 1),
                                      "demo_own_s": int(own.group(1)) if own else None, "whole_s": round(whole, 1)}))
        return 0
    finally:
        if args.keep:
            shutil.copytree(clone, args.keep, symlinks=True)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
