"""`kaoping scores import` (kaoping/cli/scores.py)."""

from __future__ import annotations

from tests.cli.conftest import refused
from tests.factories import score_files


def test_import_then_the_same_file_again(cycle_cli, settings, tmp_path):
    files = score_files(settings, "2022H1", tmp_path)
    first = cycle_cli("scores", "import", files["third_party"], "--cycle", "2022H1", "--component", "third_party")
    assert first.exit_code == 0 and "已录入" in first.output
    again = cycle_cli("scores", "import", files["third_party"], "--cycle", "2022H1", "--component", "third_party")
    assert again.exit_code == 0 and "完全相同，未作改动" in again.output


def test_unknown_component_is_refused(cycle_cli, tmp_path):
    result = cycle_cli("scores", "import", tmp_path / "x.csv", "--cycle", "2022H1", "--component", "guesswork")
    assert refused(result, "未知的考评方式 'guesswork'")
