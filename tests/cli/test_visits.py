"""`kaoping visits …`, `kaoping opinion import`, `kaoping thirdparty …` (kaoping/cli/visits.py)."""

from __future__ import annotations

from tests.cli.conftest import refused
from tests.conftest import write


def test_thirdparty_request_queues_the_evaluator_s_message(cycle_cli):
    result = cycle_cli("thirdparty", "request", "--cycle", "2022H1", "--deadline", "2022-07-10")
    assert result.exit_code == 0, result.output
    assert "已将 1 份第三方评估结果表放入发件箱：新邮件 1 封" in result.output


def test_opinion_import_of_a_summary_sheet(cycle_cli, tmp_path):
    path = write(tmp_path / "opinion.csv", "单位,得分\n东河区,90\n")
    result = cycle_cli("opinion", "import", path, "--cycle", "2022H1", "--source", "政府网站调查")
    assert result.exit_code == 0, result.output
    assert "政府网站调查" in result.output and "不在此文件中" in result.output


def test_bad_dates_and_a_missing_file_are_refused(cycle_cli, tmp_path):
    teams = write(tmp_path / "teams.yaml", "teams: []\n")
    plan = cycle_cli("visits", "plan", "--cycle", "2022H1", "--from", "6月20日", "--to", "2022-07-01", "--teams", teams)
    assert refused(plan, "开始日期“6月20日”格式不对")
    assert refused(cycle_cli("opinion", "import", tmp_path / "nope.xlsx", "--cycle", "2022H1", "--source", "调查"),
                   "找不到文件")


def test_teams_are_imported_listed_and_used_by_the_plan(cycle_cli, settings, tmp_path):
    from kaoping.models import ReceivedFile, VisitTeamList

    from kaoping import db

    assert refused(cycle_cli("visits", "teams", "list"), "尚未导入调研组名单")
    demo = settings.data_dir / "demo" / "teams.yaml"
    first = cycle_cli("visits", "teams", "import", demo)
    assert first.exit_code == 0 and "已导入调研组名单第 1 版" in first.output and "调研一组、调研二组、调研三组" in first.output
    assert "未作改动" in cycle_cli("visits", "teams", "import", demo).output
    listed = cycle_cli("visits", "teams", "list")
    assert listed.exit_code == 0 and "王建国" in listed.output and "市审批服务局" in listed.output and "青山区" in listed.output
    # Without --teams the plan uses the imported teams.
    plan = cycle_cli("visits", "plan", "--cycle", "2022H1", "--from", "2022-06-20", "--to", "2022-07-01")
    assert plan.exit_code == 0, plan.output
    assert "调研一组" in plan.output and "共 36 个单位" in plan.output
    # A list with an unknown unit is refused and the list in force stays; the file is kept either way.
    bad = write(tmp_path / "bad.yaml", "teams:\n  - name: 一组\n    members:\n      - {name: 甲, email: jia@baotou.example, unit: 东合区}\n")
    assert refused(cycle_cli("visits", "teams", "import", bad), "东合区")
    with db.session_scope(settings) as session:
        assert [t.version for t in session.exec(__import__("sqlmodel").select(VisitTeamList))] == [1]
        kept = session.exec(__import__("sqlmodel").select(ReceivedFile).where(ReceivedFile.purpose == "visits.teams")).all()
        assert sorted(k.status for k in kept) == ["accepted", "refused", "unchanged"]
