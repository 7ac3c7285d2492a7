"""`kaoping opinion import` with survey platforms' exports (kaoping/cli/visits.py): what the operator
sees, --columns and --scale, refusals that exit non-zero, change nothing and keep the file."""

from __future__ import annotations

from kaoping.models import ComponentScore, ReceivedFile
from sqlmodel import select

from kaoping import db
from tests import survey_exports as exports
from tests.cli.conftest import refused


def state(settings) -> tuple[int, list[str]]:
    with db.session_scope(settings) as session:
        scores = len(session.exec(select(ComponentScore).where(ComponentScore.component == "opinion")).all())
        files = [f.status for f in session.exec(select(ReceivedFile).order_by(ReceivedFile.id)) if f.purpose == "opinion.import"]
    return scores, files


def test_wjx_gbk_csv_imported_as_exported(cycle_cli, settings, tmp_path):
    path = exports.write_csv(tmp_path / "问卷星导出.csv", exports.wjx_rows(), encoding="gbk")
    result = cycle_cli("opinion", "import", path, "--cycle", "2022H1", "--source", "政府网站调查")
    assert result.exit_code == 0, result.output
    assert "识别的列：单位 ← G 列“1、您评价的单位是？”；满意度评分 ← H 列“2、您对该单位数字政府服务的总体满意度”" in result.output
    assert "忽略 7 列（序号、提交答卷时间、所用时间、来源、来源详情、来自IP" in result.output
    assert "共 8 份答卷，1–5 分制（计分规则）；1 份未答单位或满意度题，未计入" in result.output
    assert "新增 2 个单位" in result.output
    assert state(settings) == (2, ["accepted"])


def test_tencent_xlsx_with_columns_named_and_a_scale(cycle_cli, settings, tmp_path):
    rows = exports.tencent_rows()
    rows[0][3] = "您所在的地区"  # a second candidate for the unit column in place of 答题时长
    path = exports.write_xlsx(tmp_path / "腾讯问卷.xlsx", rows)
    first = cycle_cli("opinion", "import", path, "--cycle", "2022H1", "--source", "腾讯问卷")
    assert refused(first, "有 2 列都像“单位”列", "D 列“您所在的地区”", "E 列“Q1. 您评价的单位是”",
                   "--columns unit=D,rating=F")
    assert state(settings) == (0, ["refused"])
    fixed = cycle_cli("opinion", "import", path, "--cycle", "2022H1", "--source", "腾讯问卷",
                   "--columns", "unit=Q1. 您评价的单位是,rating=6", "--scale", "1-5")
    assert fixed.exit_code == 0, fixed.output
    assert "单位 ← E 列“Q1. 您评价的单位是”" in fixed.output and "1–5 分制（按指定的分制）" in fixed.output
    assert state(settings) == (2, ["refused", "accepted"])


def test_an_unknown_unit_and_bad_options_are_refused_and_the_file_kept(cycle_cli, settings, tmp_path):
    path = exports.write_csv(tmp_path / "问卷星.csv", exports.wjx_rows([("东河区", "满意"), ("包头市第九中学", "满意")]),
                             encoding="gbk")
    result = cycle_cli("opinion", "import", path, "--cycle", "2022H1", "--source", "问卷星")
    assert refused(result, "单位“包头市第九中学”不在考评对象名录中", "第 3 行", "G 列“1、您评价的单位是？” → 单位")
    bad_columns = cycle_cli("opinion", "import", path, "--cycle", "2022H1", "--source", "问卷星", "--columns", "unti=G")
    assert refused(bad_columns, "--columns 中的“unti=G”看不懂")
    bad_scale = cycle_cli("opinion", "import", path, "--cycle", "2022H1", "--source", "问卷星", "--scale", "五分制")
    assert refused(bad_scale, "评分分制“五分制”看不懂")
    assert state(settings) == (0, ["refused", "refused", "refused"])
