"""`kaoping thirdparty import` and `kaoping opinion import`: third-party and public-opinion results from outside
spreadsheets, with messy real-world input — full-width digits, trailing spaces, merged header cells, a BOM,
"95%", aliases, duplicate rows, per-respondent exports aggregated by the policy's rule — and what they leave in
the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import openpyxl
import pytest
from kaoping.models import ComponentScore, Unit
from sqlmodel import select

from kaoping import db
from tests import factories
from tests.conftest import write

#: What these commands leave in the database is checked on PostgreSQL too (tests/conftest.py: SQLITE_ONLY_FOLDERS).
BOTH_BACKENDS = {"test_third_party_xlsx_with_merged_two_row_header_and_messy_cells",
                 "test_unknown_names_and_conflicting_duplicates_are_refused_by_row",
                 "test_opinion_aggregate_table_with_percentages_and_few_respondents",
                 "test_opinion_per_respondent_export_is_aggregated_by_the_policy_rule"}


@pytest.fixture
def open_cycle(initialized, settings):
    factories.open_cycle(settings)
    return initialized


def scores(settings, component: str) -> dict[str, tuple[Decimal, str]]:
    with db.session_scope(settings) as session:
        names = {u.id: u.short_name for u in session.exec(select(Unit))}
        return {names[c.unit_id]: (c.score, c.note) for c in session.exec(
            select(ComponentScore).where(ComponentScore.component == component, ComponentScore.current))}


def test_third_party_xlsx_with_merged_two_row_header_and_messy_cells(open_cycle, settings, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["包头市数字政府建设第三方评估结果（2022年上半年）"])
    sheet.merge_cells("A1:C1")
    sheet.append(["单位", "得分", "说明"])
    sheet.append([None, None, None])  # the second row of a two-row header, merged from above
    for col in "ABC":
        sheet.merge_cells(f"{col}2:{col}3")
    sheet.append(["东河区 ", "８８.５", "良好"])  # trailing space, full-width digits
    sheet.append(["昆区", "91", ""])  # an alias
    sheet.append(["150204", 86.25, ""])  # a code, a number cell
    sheet.append(["昆区", "91", ""])  # a duplicate row (same values): harmless
    workbook.save(tmp_path / "评估结果.xlsx")
    result = open_cycle("thirdparty", "import", tmp_path / "评估结果.xlsx", "--cycle", "2022H1")
    assert result.exit_code == 0, result.output
    assert "新增 3 个单位" in result.output and "不在此文件中" in result.output and "石拐区" in result.output
    got = scores(settings, "third_party")
    assert got["东河区"][0] == Decimal("88.5") and got["昆都仑区"][0] == 91 and got["青山区"][0] == Decimal("86.25")


def test_unknown_names_and_conflicting_duplicates_are_refused_by_row(open_cycle, settings, tmp_path):
    path = write(tmp_path / "r.csv", "\ufeff单位,得分\n东合区,88\n青山区,80\n青山区,81\n")
    result = open_cycle("thirdparty", "import", path, "--cycle", "2022H1")
    assert result.exit_code != 0
    assert "第 2 行“单位”列" in result.output and "东河区" in result.output  # closest match offered
    assert "第 3、4 行：青山区 出现多次且数值不同" in result.output
    assert scores(settings, "third_party") == {}


def test_opinion_aggregate_table_with_percentages_and_few_respondents(open_cycle, settings, tmp_path):
    path = write(tmp_path / "汇总.csv", "\ufeff单位,样本数,满意率\n东河区,120,95%\n青山区,12,0.88\n固阳县,45,９０％\n")
    result = open_cycle("opinion", "import", path, "--cycle", "2022H1", "--source", "政府网站调查")
    assert result.exit_code == 0, result.output
    assert "样本不足的单位" in result.output and "青山区" in result.output
    got = scores(settings, "opinion")
    assert got["东河区"][0] == 95 and got["青山区"][0] == 88 and got["固阳县"][0] == 90
    assert got["青山区"][1].startswith("※样本不足")


def test_opinion_per_respondent_export_is_aggregated_by_the_policy_rule(open_cycle, settings, tmp_path):
    # 东河区: ratings 5, 4, 4, 3 → mean 4 → (4 − 1) / (5 − 1) × 100 = 75.00;
    # 青山区: 满意 (4), 非常满意 (5), 5 → mean 14/3 = 4.666… → 91.666… → 91.67.
    lines = ["单位,满意程度"] + ["东河区,5", "东河区,4", "东河区 ,４", "东河区,3"] + ["青山区,满意", "青山区,非常满意", "青山区,5"]
    result = open_cycle("opinion", "import", write(tmp_path / "答卷.csv", "\n".join(lines) + "\n"), "--cycle", "2022H1",
                        "--source", "蒙速办问卷")
    assert result.exit_code == 0, result.output
    assert "逐条答卷" in result.output
    got = scores(settings, "opinion")
    assert got["东河区"][0] == Decimal("75.00") and got["青山区"][0] == Decimal("91.67")
    assert "样本 3 份" in got["青山区"][1] and got["青山区"][1].startswith("※")  # fewer than 30 respondents
    bad = write(tmp_path / "bad.csv", "单位,满意程度\n东河区,还行\n东河区,7\n")
    refused = open_cycle("opinion", "import", bad, "--cycle", "2022H1", "--source", "x")
    assert refused.exit_code != 0 and "“还行”无法识别" in refused.output and "7 超出 1–5" in refused.output
