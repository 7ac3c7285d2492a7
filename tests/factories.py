"""Plain factory functions for tests: a cycle with scores, files of scores."""

from __future__ import annotations

from pathlib import Path

from kaoping import db
from kaoping.demo.people import component_rows, monitoring_rows, write_csv
from kaoping.models import Component
from kaoping.services.cycles import get_cycle


def score_files(settings, code: str, folder: Path, *, seed: int = 2022) -> dict[str, Path]:
    """CSV files with plausible scores of every kind for an open cycle."""
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, code)
        files = {"monitoring": write_csv(monitoring_rows(session, cycle, seed=seed), folder / f"{code}-monitoring.csv")}
        for component in (Component.field, Component.opinion, Component.third_party):
            files[component.value] = write_csv(
                component_rows(session, cycle, component, seed=seed), folder / f"{code}-{component.value}.csv"
            )
    return files


def scored_cycle(cli, settings, folder: Path, code: str = "2022H1", *, seed: int = 2022, verify: bool = True) -> dict[str, Path]:
    """Open ``code`` and import a full set of scores (and verify self-scored items)."""
    assert cli("cycle", "open", code).exit_code == 0
    files = score_files(settings, code, folder, seed=seed)
    for component, path in files.items():
        result = cli("scores", "import", path, "--cycle", code, "--component", component)
        assert result.exit_code == 0, result.output
    if verify:
        assert cli("verify", "confirm", "--cycle", code, "--all-self-scored").exit_code == 0
    return files
