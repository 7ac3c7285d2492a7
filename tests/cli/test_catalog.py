"""`kaoping catalog …` (kaoping/cli/catalog.py)."""

from __future__ import annotations

import json

from tests.cli.conftest import refused


def test_show_and_export(initialized, tmp_path):
    shown = initialized("catalog", "show", "--year", "2022")
    assert shown.exit_code == 0 and "2022 年" in shown.output and "各牵头考核单位牵头的指标数" in shown.output
    out = tmp_path / "2022.json"
    written = initialized("catalog", "export", "--year", "2022", "--out", out)
    assert written.exit_code == 0 and f"已写入 {out}" in written.output
    assert json.loads(out.read_text(encoding="utf-8"))["year"] == 2022
    again = initialized("catalog", "import", out, "--year", "2022")
    assert again.exit_code == 0 and "完全相同，未作改动" in again.output


def test_a_year_without_a_catalog_is_refused(initialized):
    assert refused(initialized("catalog", "show", "--year", "2031"), "2031 年的考评指标尚未导入")
