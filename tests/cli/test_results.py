"""`kaoping check|results|annual|explain` (kaoping/cli/results.py)."""

from __future__ import annotations

import json

from tests.cli.conftest import refused
from tests.factories import scored_cycle


def test_check_lists_what_is_missing(cycle_cli):
    result = cycle_cli("check", "--cycle", "2022H1")
    assert result.exit_code == 1 and "2022H1 有" in result.output and "个问题" in result.output


def test_results_and_explain_of_a_scored_cycle(initialized, settings, tmp_path):
    scored_cycle(settings, tmp_path, "2022H1")
    assert "检查通过" in initialized("check", "--cycle", "2022H1").output
    rows = json.loads(initialized("results", "--cycle", "2022H1", "--format", "json").stdout)
    assert len(rows) == 36
    explained = initialized("explain", "--cycle", "2022H1", "--unit", "东河区")
    assert explained.exit_code == 0 and "东河区" in explained.output


def test_results_of_an_unopened_cycle_and_an_empty_year_are_refused(initialized):
    assert refused(initialized("results", "--cycle", "2022H2"), "考评周期 2022H2 尚未开启")
    assert refused(initialized("annual", "2022"), "考评周期 2022H1 尚未开启")
