"""Public-opinion results imported from survey platforms' own exports (问卷星, 腾讯问卷), as exported:
columns recognised by meaning, named when the guess is wrong, refusals that show the mapping and change
nothing, every file kept. On SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from kaoping.models import ComponentScore, ReceivedFile, Unit
from sqlmodel import select

from kaoping import db
from kaoping.domain.errors import InvalidInput
from tests import factories
from tests import survey_exports as exports


#: The platforms' exports and a converted ten-point score are stored on PostgreSQL too; how a header is read, and
#: the refusals' words, do not depend on the database (SQLite only: tests/conftest.py).
BOTH_BACKENDS = {"test_platform_exports_are_imported_as_exported",
                 "test_a_ten_point_scale_stated_in_the_header_or_given"}  # a converted score in NUMERIC(14,4)


@pytest.fixture
def cycle_open(initialized_db, settings):
    factories.open_cycle(settings)
    return settings


def opinion_scores(settings) -> dict[str, tuple[Decimal, str, str]]:
    with db.session_scope(settings) as session:
        names = {u.id: u.short_name for u in session.exec(select(Unit))}
        return {names[c.unit_id]: (c.score, c.note, c.source) for c in session.exec(
            select(ComponentScore).where(ComponentScore.component == "opinion", ComponentScore.current))}


def kept(settings) -> list[tuple[str, str, str]]:
    with db.session_scope(settings) as session:
        return [(f.filename, f.status, f.reason) for f in session.exec(select(ReceivedFile).order_by(ReceivedFile.id))
                if f.purpose == "opinion.import"]


def refuse(settings, path, **options) -> str:
    with pytest.raises(InvalidInput) as refused:
        factories.import_outside_results(settings, path, component="opinion", source="问卷", **options)
    return str(refused.value)


@pytest.mark.parametrize("platform, fmt", [("wjx", "gbk"), ("wjx", "xlsx"), ("tencent", "utf-8-sig"), ("tencent", "xlsx")])
def test_platform_exports_are_imported_as_exported(cycle_open, tmp_path, platform, fmt):
    rows = exports.wjx_rows() if platform == "wjx" else exports.tencent_rows()
    path = (exports.write_xlsx(tmp_path / f"{platform}.xlsx", rows) if fmt == "xlsx"
            else exports.write_csv(tmp_path / f"{platform}.csv", rows, encoding=fmt))
    outcome = factories.import_outside_results(cycle_open, path, component="opinion", source="政府网站调查")
    assert outcome.shape == "per_respondent" and outcome.rows == len(exports.ANSWERS) and outcome.not_answered == 1
    got = opinion_scores(cycle_open)
    assert {name: value[0] for name, value in got.items()} == {n: Decimal(v) for n, v in exports.EXPECTED.items()}  # 达茂旗 by its alias
    assert "样本 4 份，平均 4.00 分（1–5 分制）" in got["东河区"][1] and got["东河区"][1].startswith("※样本不足")
    unit_header = "1、您评价的单位是？" if platform == "wjx" else "Q1. 您评价的单位是"
    assert f"单位 ← {'G' if platform == 'wjx' else 'E'} 列“{unit_header}”" in outcome.mapping
    assert kept(cycle_open) == [(path.name, "accepted", "")]
    again = factories.import_outside_results(cycle_open, path, component="opinion", source="政府网站调查")
    assert not again.created and kept(cycle_open)[-1][1] == "unchanged"


def test_a_wrong_guess_is_refused_with_the_mapping_and_corrected_by_naming_the_column(cycle_open, tmp_path):
    # The respondent's own employer is asked first: it is the only header with 单位, so it is
    # taken for the unit column, and its values are no assessed units.
    rows = [["序号", "1、您的工作单位（选填）", "2、您评价的是？", "3、总体满意度"],
            ["1", "包钢集团", "东河区", "5"], ["2", "(跳过)", "东河区", "3"], ["3", "包头医学院", "青山区", "非常满意"]]
    path = exports.write_csv(tmp_path / "问卷.csv", rows, encoding="gbk")
    text = refuse(cycle_open, path)
    assert "B 列“1、您的工作单位（选填）” → 单位（unit；按表头含“单位”识别）" in text
    assert "C 列“2、您评价的是？” → 忽略（另有“总体”满意度列）" in text
    assert "第 2 行“1、您的工作单位（选填）”列：单位“包钢集团”不在考评对象名录中" in text
    assert opinion_scores(cycle_open) == {}
    outcome = factories.import_outside_results(cycle_open, path, component="opinion", source="问卷",
                                               columns={"unit": "C"})
    assert "单位 ← C 列“2、您评价的是？”" in outcome.mapping
    got = opinion_scores(cycle_open)
    assert got["东河区"][0] == Decimal("75.00") and got["青山区"][0] == Decimal("100.00")
    assert [k[1] for k in kept(cycle_open)] == ["refused", "accepted"]


def test_two_unit_columns_are_refused_with_the_preview_and_nothing_is_written(cycle_open, tmp_path):
    rows = exports.wjx_rows()
    rows[0][5] = "您所在的旗县区"  # a question in place of 来自IP
    path = exports.write_xlsx(tmp_path / "问卷星.xlsx", rows)
    text = refuse(cycle_open, path)
    assert "有 2 列都像“单位”列：F 列“您所在的旗县区”、G 列“1、您评价的单位是？”" in text
    assert "表头在第 1 行" in text and "H 列“2、您对该单位数字政府服务的总体满意度” → 满意度评分" in text
    assert "--columns unit=F,rating=H" in text
    assert opinion_scores(cycle_open) == {}
    [(name, status, reason)] = kept(cycle_open)
    assert (name, status) == ("问卷星.xlsx", "refused") and "都像“单位”列" in reason
    factories.import_outside_results(cycle_open, path, component="opinion", source="问卷",
                                     columns={"unit": "1、您评价的单位是？"})
    assert {name: value[0] for name, value in opinion_scores(cycle_open).items()} == {
        n: Decimal(v) for n, v in exports.EXPECTED.items()}


def test_unknown_units_and_choices_are_refused_by_name_once_each(cycle_open, tmp_path):
    answers = [("东河区", "满意"), ("包头市第九中学", "满意"), ("东河区", "还行"), ("包头市第九中学", "一般"),
               ("东合区", "非常满意"), ("东河区", "还行")]
    path = exports.write_csv(tmp_path / "问卷星.csv", exports.wjx_rows(answers), encoding="gbk")
    text = refuse(cycle_open, path)
    assert "有 3 处问题，未录入任何分数" in text and "G 列“1、您评价的单位是？” → 单位" in text
    assert "第 3、5 行“1、您评价的单位是？”列：单位“包头市第九中学”不在考评对象名录中" in text
    assert "第 6 行“1、您评价的单位是？”列：单位“东合区”" in text and "最接近的已知单位：东河区" in text.split("东合区")[1]
    assert "第 4、7 行“2、您对该单位数字政府服务的总体满意度”列：“还行”无法识别" in text
    assert "opinion.rating_labels" in text
    assert opinion_scores(cycle_open) == {} and kept(cycle_open)[0][1] == "refused"


def test_a_ten_point_scale_stated_in_the_header_or_given(cycle_open, tmp_path):
    # 东河区 10, 7 → mean 8.5 → (8.5 − 1) / 9 × 100 = 83.33; the scoring rule is the same, read on the file's scale.
    rows = [["编号", "答题时长", "Q1. 您评价的单位是", "Q2. 总体满意度（1-10分）"], ["1", "30秒", "东河区", "10"],
            ["2", "41秒", "东河区", "7"]]
    stated = exports.write_csv(tmp_path / "腾讯问卷.csv", rows, encoding="utf-8-sig")
    outcome = factories.import_outside_results(cycle_open, stated, component="opinion", source="问卷")
    assert outcome.scale == "1–10 分制（据表头）" and opinion_scores(cycle_open)["东河区"][0] == Decimal("83.33")
    rows[0][3] = "Q2. 总体满意度"
    bare = exports.write_csv(tmp_path / "腾讯问卷2.csv", rows, encoding="utf-8-sig")
    assert "10 超出 1–5 的范围（计分规则）" in refuse(cycle_open, bare) and "--scale" in refuse(cycle_open, bare)
    outcome = factories.import_outside_results(cycle_open, bare, component="opinion", source="问卷2",
                                               rating_scale=(Decimal(1), Decimal(10)))
    assert outcome.scale == "1–10 分制（按指定的分制）"
    assert opinion_scores(cycle_open)["东河区"][0] == Decimal("83.33")


def test_a_summary_table_from_a_platform_with_a_numbered_header(cycle_open, tmp_path):
    rows = [["2022年上半年民意调查汇总", "", ""], ["被调查单位", "有效样本（份）", "满意率"], ["东河区", "120", "95%"],
            ["达茂联合旗", "80", "0.9"]]
    outcome = factories.import_outside_results(cycle_open, exports.write_xlsx(tmp_path / "汇总.xlsx", rows),
                                               component="opinion", source="汇总")
    assert outcome.shape == "aggregate"
    got = opinion_scores(cycle_open)
    assert got["东河区"][0] == 95 and got["达尔罕茂明安联合旗"][0] == 90 and got["东河区"][1] == "样本 120 份"


def test_a_bare_manyidu_header_holding_answers_is_read_as_ratings(cycle_open, tmp_path):
    # “满意度” alone names a summary table's satisfied share (95%); here it holds each respondent's
    # answer (words, one unit on several rows), so it is the rating column.
    path = exports.write_csv(tmp_path / "答卷.csv", [["单位", "满意度"], ["东河区", "满意"], ["东河区", "非常满意"],
                                                      ["青山区", "一般"]], encoding="gbk")
    outcome = factories.import_outside_results(cycle_open, path, component="opinion", source="问卷")
    assert outcome.shape == "per_respondent" and "满意度评分 ← B 列“满意度”" in outcome.mapping
    got = opinion_scores(cycle_open)
    assert got["东河区"][0] == Decimal("87.50") and got["青山区"][0] == Decimal("50.00")
