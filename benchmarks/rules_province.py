"""Province-scale rules benchmark (issue 3).

A synthetic province: Baotou's 36 units plus 564 more (600 units: 120 districts that
undertake all 90 indicators, 480 departments that undertake ~80 each), the 2022 catalog,
so ~50,000 responsibilities and ~56,000 lead scores. Measures, on SQLite and on
PostgreSQL (when reachable), each in a process of its own:

* import: the monitoring CSV through the same path as `kaoping scores import`;
* compute: gathering the inputs and computing every unit's result;
* floor: one SQL aggregate (sum of current scores per unit and area) over the same rows;
* peak memory (max RSS) of the process.

Targets on a 2-core machine: compute < 2 s and within 20× the floor, import < 15 s, < 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

PG_URL = os.environ.get("KAOPING_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def province_registry(path: Path, rng: random.Random, units_total: int = 600) -> None:
    """Baotou's 36 units (from kaoping's registry) and ``units_total - 36`` more, districts and
    departments in the province's proportion (110 : 454 at 600)."""
    extra = units_total - 36
    districts = round(extra * 110 / 564)
    units = []
    for n in range(districts):
        units.append({"code": f"P{n:04d}", "name": f"第{n}旗县区人民政府", "short_name": f"第{n}旗县区", "group": "district",
                      "contacts": [{"role": "liaison", "name": "联络员", "email": f"liaison@p{n:04d}.province.example"}]})
    for n in range(extra - districts):
        units.append({"code": f"B{n:04d}", "name": f"某市第{n}局", "short_name": f"第{n}局", "group": "department",
                      "contacts": [{"role": "liaison", "name": "联络员", "email": f"liaison@b{n:04d}.province.example"}]})
    path.write_text(yaml.safe_dump({"units": units}, allow_unicode=True), encoding="utf-8")


def province_responsibilities(session, path: Path, rng: random.Random) -> int:
    from kaoping.models import Indicator, IndicatorLead, Unit
    from sqlmodel import select

    units = session.exec(select(Unit)).all()
    led = {}
    for unit_id, number in session.exec(select(IndicatorLead.unit_id, Indicator.number).join(Indicator)):
        led.setdefault(unit_id, set()).add(number)
    lines = ["单位,指标"]
    for u in units:
        if u.group == "district":
            numbers = range(1, 91)
        else:
            numbers = sorted(set(rng.sample(range(1, 91), 80)) | led.get(u.id, set()))
        lines += [f"{u.code},{n}" for n in numbers]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


def setup_province(settings, workdir: Path, units: int = 600) -> int:
    """init, then the synthetic province's registry and responsibilities; returns the pair count."""
    from kaoping import db
    from kaoping.adapters.uploads import read_upload
    from kaoping.services.reference.registry import import_registry
    from kaoping.services.reference.responsibilities import import_responsibilities
    from kaoping.services.reference.setup import initialize

    rng = random.Random(7)
    initialize(settings)
    province_registry(workdir / "province.yaml", rng, units)
    with db.session_scope(settings) as session:
        import_registry(session, read_upload(workdir / "province.yaml"), actor="bench")
    with db.session_scope(settings) as session:
        pairs = province_responsibilities(session, workdir / "resp.csv", rng)
    with db.session_scope(settings) as session:
        import_responsibilities(session, read_upload(workdir / "resp.csv"), year=2022, actor="bench")
    return pairs


def run_one(url: str, workdir: Path) -> dict:
    from kaoping.models import Component

    from kaoping import db
    from kaoping.adapters.uploads import read_upload
    from kaoping.demo.people import component_rows, monitoring_rows, write_csv
    from kaoping.domain.policy import load_policy
    from kaoping.services.cycles.cycle import get_cycle, open_cycle
    from kaoping.services.scoring.entry import import_score_file
    from kaoping.services.scoring.results import compute_cycle, result_rows
    from kaoping.services.scoring.verification import confirm_all_self_scored
    from kaoping.settings import Settings

    s = Settings(database_url=url, var_dir=workdir / "var", environment="development", _env_file=None)
    figures: dict[str, float | int | str] = {}
    t = time.perf_counter()
    figures["responsibilities"] = setup_province(s, workdir)
    figures["setup_s"] = time.perf_counter() - t

    t = time.perf_counter()
    with db.session_scope(s) as session:
        open_cycle(session, code="2022H1", policy=load_policy(s.data_dir / "policies" / "default.yaml"),
                   policy_source="default.yaml", actor="bench", default_responsibilities_reason="基准测试")
    figures["cycle_open_s"] = time.perf_counter() - t

    with db.session_scope(s) as session:
        cycle = get_cycle(session, "2022H1")
        rows = monitoring_rows(session, cycle)
        write_csv(rows, workdir / "monitoring.csv")
        for c in (Component.field, Component.opinion, Component.third_party):
            write_csv(component_rows(session, cycle, c), workdir / f"{c.value}.csv")
    figures["lead_scores"] = len(rows)

    t = time.perf_counter()
    with db.session_scope(s) as session:
        cycle = get_cycle(session, "2022H1")
        outcome = import_score_file(session, cycle, Component.monitoring, read_upload(workdir / "monitoring.csv"), actor="bench")
    figures["import_s"] = time.perf_counter() - t
    assert outcome.summary.created == len(rows)
    for c in (Component.field, Component.opinion, Component.third_party):
        with db.session_scope(s) as session:
            import_score_file(session, get_cycle(session, "2022H1"), c, read_upload(workdir / f"{c.value}.csv"), actor="bench")
    t = time.perf_counter()
    with db.session_scope(s) as session:
        figures["self_scored_verified"] = len(confirm_all_self_scored(session, get_cycle(session, "2022H1"), actor="bench"))
    figures["verify_all_s"] = time.perf_counter() - t

    timings = []
    for _ in range(3):
        t = time.perf_counter()
        with db.session_scope(s) as session:
            inputs, results = compute_cycle(session, get_cycle(session, "2022H1"))
            published = result_rows(inputs, results)
        timings.append(time.perf_counter() - t)
    figures["compute_s"] = min(timings)
    figures["units"] = len(published)

    engine = db.get_engine(s)
    cast = "ls.score" if engine.dialect.name == "postgresql" else "CAST(ls.score AS NUMERIC)"
    floor = []
    for _ in range(5):
        t = time.perf_counter()
        with engine.connect() as conn:
            n = len(conn.execute(text(
                f"SELECT ls.unit_id, i.area_id, SUM({cast}) FROM lead_score ls JOIN indicator i ON i.id = ls.indicator_id "
                "WHERE ls.current GROUP BY ls.unit_id, i.area_id"
            )).all())
        floor.append(time.perf_counter() - t)
    figures["floor_s"] = min(floor)
    figures["floor_groups"] = n
    figures["compute_over_floor"] = figures["compute_s"] / figures["floor_s"]
    figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    db.dispose_engine(url)
    return figures


def child(backend: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if backend == "sqlite":
            figures = run_one(f"sqlite:///{workdir / 'bench.sqlite3'}", workdir)
        else:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                sep = "&" if "?" in PG_URL else "?"
                figures = run_one(f"{PG_URL}{sep}options=-csearch_path%3D{schema}", workdir)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        print("RESULT " + json.dumps({"backend": backend, **figures}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["sqlite", "postgresql"])
    args, _ = parser.parse_known_args()
    if args.child:
        child(args.child)
        return
    backends = ["sqlite"]
    try:
        with create_engine(PG_URL).connect():
            backends.append("postgresql")
    except Exception as exc:  # PostgreSQL not running: report SQLite only
        print(f"(PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}; SQLite only)")
    print("Province-scale rules benchmark: 600 units × 90 indicators (targets: compute < 2 s and < 20× floor, import < 15 s, < 1024 MiB)")
    for backend in backends:
        out = subprocess.run([sys.executable, "-m", "benchmarks.rules_province", "--child", backend],
                             capture_output=True, text=True)
        line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
        if line is None:
            print(f"{backend}: FAILED\n{out.stdout}\n{out.stderr}")
            continue
        f = json.loads(line[7:])
        print(
            f"{backend:10s} units {f['units']}, responsibilities {f['responsibilities']}, lead scores {f['lead_scores']}\n"
            f"           cycle open {f['cycle_open_s']:.2f} s | import {f['import_s']:.2f} s | verify self-scored "
            f"({f['self_scored_verified']}) {f['verify_all_s']:.2f} s\n"
            f"           compute {f['compute_s']:.3f} s | SQL floor {f['floor_s'] * 1000:.1f} ms ({f['floor_groups']} groups) | "
            f"ratio {f['compute_over_floor']:.1f}× | peak RSS {f['peak_rss_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
