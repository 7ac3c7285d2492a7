"""The rules on the 2022 catalog through the commands, on SQLite and PostgreSQL: `kaoping cycle open`,
`points set|show|accept-defaults`, `scores import`, `verify …`, `check`, `results`, `explain`, `annual`.

State is built through the services (tests/factories.py); the CLI is called where what it prints or its exit
code is what the test checks (refusals, tables, explanations), with what it leaves in the database. The pure
arithmetic: tests/domain/test_scoring_rules.py; points in force: tests/services/cycles/test_points.py."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from fractions import Fraction

import openpyxl
import pytest
from kaoping.models import (
    AuditEntry,
    ComponentScore,
    CycleSnapshot,
    CycleUnit,
    LeadScore,
)
from sqlmodel import func, select

from kaoping import db
from kaoping.domain.errors import InvalidInput
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.cycles.points import points_in_force
from kaoping.services.scoring.entry import allocate_points
from tests.conftest import write
from tests.factories import (
    add_line,
    adjust_score,
    audit_chain_ok,
    import_scores,
    import_units,
    open_cycle,
    reopen_cycle,
    result_rows,
    score_files,
    scored_cycle,
    sign_off,
    verify_self_scored,
)

#: What these commands leave in the database — a cycle opened, scores imported and replaced, a verification, the
#: computed results — is checked on PostgreSQL too; the refusals' and the listings' words do not depend on the
#: database (SQLite only: tests/conftest.py: SQLITE_ONLY_FOLDERS).
BOTH_BACKENDS = {"test_annual_mean_of_two_halves", "test_bad_score_rows_are_refused_by_row_and_column",
                 "test_import_replace_keeps_history_and_reimport_is_a_no_op",
                 "test_open_cycle_freezes_units_responsibilities_and_policy", "test_points_allocation_rule_3_4",
                 "test_verification_confirm_adjust_lines_and_freeze",
                 "test_worked_example_on_the_2022_catalog_several_leads_and_default_points"}


MONITORING_HEADER = "单位,指标,牵头考核单位,得分,说明\n"


def lead_score_counts(settings):
    with db.session_scope(settings) as session:
        total = session.exec(select(func.count()).select_from(LeadScore)).one()
        current = session.exec(select(func.count()).select_from(LeadScore).where(LeadScore.current)).one()
        audits = session.exec(select(func.count()).select_from(AuditEntry)).one()
    return total, current, audits


# --------------------------------------------------------------------------- cycles


def test_open_cycle_freezes_units_responsibilities_and_policy(initialized, settings, tmp_path):
    cli = initialized
    result = cli("cycle", "open", "2022H1", "--accept-default-responsibilities", "测试：沿用默认承担规则")
    assert result.exit_code == 0 and "36 个考评对象" in result.output
    # A later registry edit does not change the cycle's units.
    write(tmp_path / "u.yaml", "units:\n  - code: '150202'\n    name: 东河区人民政府\n    short_name: 东河区（新）\n    group: district\n")
    import_units(settings, tmp_path / "u.yaml")
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        names = {u.code: u.short_name for u in session.exec(select(CycleUnit).where(CycleUnit.cycle_id == cycle.id))}
        snapshots = {s.kind: s for s in session.exec(select(CycleSnapshot).where(CycleSnapshot.cycle_id == cycle.id))}
    assert names["150202"] == "东河区"
    assert set(snapshots) == {"catalog", "units", "responsibilities", "policy"}
    assert snapshots["policy"].content["components"] == {"monitoring": "60", "field": "20", "opinion": "10", "third_party": "10"}
    assert len(snapshots["catalog"].content["indicators"]) == 90
    assert len(snapshots["responsibilities"].content["pairs"]) == 1001
    again = cli("cycle", "open", "2022H1", "--accept-default-responsibilities", "测试：沿用默认承担规则")
    assert again.exit_code != 0 and "不能重复开启" in again.output


@pytest.mark.parametrize("code", ["2022", "2022H3", "22H1", "上半年"])
def test_bad_cycle_code(initialized, code):
    result = initialized("cycle", "open", code, "--accept-default-responsibilities", "测试：沿用默认承担规则")
    assert result.exit_code != 0 and "2022H1" in result.output


def test_bad_policy_file_is_refused(initialized, tmp_path):
    bad = write(tmp_path / "p.yaml", "version: x\ncomponents: {monitoring: 70, field: 20, opinion: 10, third_party: 10}\ngrades: [{name: 优, min: 0}]\n")
    result = initialized("cycle", "open", "2022H1", "--policy", bad)
    assert result.exit_code != 0 and "合计应为 100" in result.output
    assert "还没有考评周期" in initialized("cycle", "list").output


# --------------------------------------------------------------------------- allocation


def test_points_allocation_rule_3_4(initialized, settings):
    cli = initialized
    open_cycle(settings)
    shown = cli("points", "show", "--cycle", "2022H1")
    assert "默认（平均分配）" in shown.output
    # Area 三 (20 points, items 54–58, all led by 市工信局).
    bad_sum = cli("points", "set", "--cycle", "2022H1", "--lead", "市工信局", "54=5", "55=5", "56=4", "57=3", "58=4")
    assert bad_sum.exit_code != 0 and "合计应为 20 分" in bad_sum.output and "= 21 分" in bad_sum.output
    partial = cli("points", "set", "--cycle", "2022H1", "--lead", "市工信局", "54=10", "55=10")
    assert partial.exit_code != 0 and "54、55、56、57、58" in partial.output
    wrong_lead = cli("points", "set", "--cycle", "2022H1", "--lead", "市审批服务局", "54=5", "55=5", "56=4", "57=3", "58=3")
    assert wrong_lead.exit_code != 0 and "不是指标" in wrong_lead.output
    fixed = cli("points", "set", "--cycle", "2022H1", "--lead", "市工信局", "19=1")
    assert fixed.exit_code != 0 and "已有规定分值" in fixed.output
    ok = cli("points", "set", "--cycle", "2022H1", "--lead", "工信局", "54=5", "55=5", "56=4", "57=3", "58=3")
    assert ok.exit_code == 0, ok.output
    shown = cli("points", "show", "--cycle", "2022H1").output
    assert "牵头考核单位明确" in shown
    # Group (四) 线上进一网 (2 points): items 6, 7 (审批) and 8 (住建、审批): the items have different
    # leads, so neither lead allocates alone — the specialist team does (rule 三(四); docs/domain.md).
    zjj = cli("points", "set", "--cycle", "2022H1", "--lead", "市住建局", "6=1", "7=0.5", "8=0.5")
    assert zjj.exit_code != 0 and "分值由专班明确" in zjj.output and "8 号由 市住建局、市审批服务局 牵头" in zjj.output
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        allocate_points(session, cycle, lead_written=None, by_team=True, actor="test", points={6: Decimal(1), 7: Decimal("0.5"), 8: Decimal("0.5")})
        with pytest.raises(InvalidInput, match="专班不能代为明确"):
            allocate_points(session, cycle, lead_written=None, by_team=True, actor="test",
                            points={54: Decimal(4), 55: Decimal(4), 56: Decimal(4), 57: Decimal(4), 58: Decimal(4)})
        in_force = {p.number: (p.points, p.basis) for p in points_in_force(session, cycle).values() if p.number in (6, 7, 8)}
        assert in_force == {6: (1, "allocated"), 7: (Fraction(1, 2), "allocated"), 8: (Fraction(1, 2), "allocated")}
    # Scores above a new allocation: 东河区 gets 4 on item 58 (default 4) then the lead lowers 58 to 3.
    write_path = settings.var_dir / "s.csv"
    write(write_path, MONITORING_HEADER + "东河区,58,市工信局,4,\n")
    assert cli("scores", "import", write_path, "--cycle", "2022H1", "--component", "monitoring").exit_code != 0  # 58 is 3 now
    write(write_path, MONITORING_HEADER + "东河区,57,市工信局,3,\n")
    import_scores(settings, write_path, component="monitoring")
    # Item 57 has a score now: area 三's points are frozen; a change needs a reason (audited).
    lower = cli("points", "set", "--cycle", "2022H1", "--lead", "市工信局", "54=6", "55=6", "56=4", "57=2", "58=2")
    assert lower.exit_code != 0 and "已有评分，分值已冻结" in lower.output and "--reason" in lower.output
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        with pytest.raises(InvalidInput) as caught:
            allocate_points(session, cycle, lead_written="市工信局", actor="test", reason="牵头单位更正笔误",
                            points={54: Decimal(6), 55: Decimal(6), 56: Decimal(4), 57: Decimal(2), 58: Decimal(2)})
        assert "东河区 指标 57 已得 3 分" in str(caught.value.problems)
        allocate_points(session, cycle, lead_written="市工信局", actor="test", reason="牵头单位更正笔误",
                        points={54: Decimal(6), 55: Decimal(5), 56: Decimal(3), 57: Decimal(3), 58: Decimal(3)})
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "points.allocate").order_by(AuditEntry.id.desc())).first()
        assert "评分后更改，原因：牵头单位更正笔误" in entry.reason


# --------------------------------------------------------------------------- score import


def test_import_replace_keeps_history_and_reimport_is_a_no_op(initialized, settings, tmp_path):
    cli = initialized
    open_cycle(settings)
    path = write(tmp_path / "m.csv", MONITORING_HEADER + "东河区,19,市审批服务局,0.4,进度滞后\n东河区,3,市政府办公室,0.9,\n")
    first = cli("scores", "import", path, "--cycle", "2022H1", "--component", "monitoring")
    assert first.exit_code == 0 and "新增 2 项" in first.output
    counts = lead_score_counts(settings)
    again = cli("scores", "import", path, "--cycle", "2022H1", "--component", "monitoring")
    assert "完全相同" in again.output and lead_score_counts(settings) == counts
    write(path, MONITORING_HEADER + "东河区,19,审批服务局,0.45,已整改\n")
    changed = cli("scores", "import", path, "--cycle", "2022H1", "--component", "monitoring")
    assert changed.exit_code == 0 and "替换 1 项" in changed.output
    total, current, _ = lead_score_counts(settings)
    assert (total, current) == (3, 2)
    with db.session_scope(settings) as session:
        history = session.exec(select(LeadScore).where(LeadScore.score.in_([Decimal("0.4"), Decimal("0.45")]))
                               .order_by(LeadScore.id)).all()
        assert [(h.score, h.current) for h in history] == [(Decimal("0.4"), False), (Decimal("0.45"), True)]
        last = session.exec(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert last.action == "scores.monitoring" and last.before["replaced"][0]["before"] == "0.4"


def test_bad_score_rows_are_refused_by_row_and_column(initialized, settings, tmp_path):
    cli = initialized
    open_cycle(settings)
    before = lead_score_counts(settings)
    path = write(
        tmp_path / "bad.csv",
        MONITORING_HEADER
        + "东河区,19,市审批服务局,0.5,\n"  # fine
        + "东合区,19,市审批服务局,0.5,\n"  # unknown unit (closest: 东河区)
        + "青山区,19,市审批服务局,0.6,\n"  # above 0.5 points
        + "青山区,20,市卫健委,八十,\n"  # not a number
        + "青山区,20,市工信局,0.5,\n"  # not the lead of item 20
        + "市卫健委,19,市审批服务局,0.5,\n"  # 市卫健委 does not undertake 19
        + "青山区,3,,0.5,\n"  # two leads: lead column required
        + "青山区,91,市工信局,1,\n",  # no such indicator
    )
    result = cli("scores", "import", path, "--cycle", "2022H1", "--component", "monitoring")
    assert result.exit_code != 0
    out = result.output
    for expected in ("第 3 行“单位”列", "东河区", "第 4 行", "0 到 0.5", "第 5 行“得分”列", "八十",
                     "第 6 行", "不是指标 20 的牵头考核单位", "第 7 行", "不承担指标 19", "第 8 行“牵头考核单位”列",
                     "第 9 行“指标”列"):
        assert expected in out, expected
    assert lead_score_counts(settings) == before


def test_english_headers_xlsx_full_width_digits_and_title_row(initialized, settings, tmp_path):
    cli = initialized
    open_cycle(settings)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["2022年上半年第三方评估结果"])
    sheet.merge_cells("A1:C1")
    sheet.append(["unit", "score", "note"])
    sheet.append(["东河区", "８５.5", "良好"])
    sheet.append(["昆区", 90, ""])
    sheet.append(["稀土高新区 ", "95%", ""])
    path = tmp_path / "third.xlsx"
    workbook.save(path)
    result = cli("scores", "import", path, "--cycle", "2022H1", "--component", "third_party", "--source", "某评估机构")
    assert result.exit_code == 0, result.output
    assert "新增 3 项" in result.output and "不在此文件中" in result.output and "青山区" in result.output
    with db.session_scope(settings) as session:
        got = {s.score for s in session.exec(select(ComponentScore))}
    assert got == {Decimal("85.5"), Decimal(90), Decimal(95)}
    over = write(tmp_path / "o.csv", "单位,得分\n东河区,101\n")
    refused = cli("scores", "import", over, "--cycle", "2022H1", "--component", "opinion")
    assert refused.exit_code != 0 and "0 到 100" in refused.output
    missing_col = write(tmp_path / "m.csv", "单位,说明\n东河区,好\n")
    assert "缺少“得分”列" in cli("scores", "import", missing_col, "--cycle", "2022H1", "--component", "opinion").output
    assert "未知的考评方式" in cli("scores", "import", over, "--cycle", "2022H1", "--component", "survey").output


# --------------------------------------------------------------------------- verification, check, freeze


def test_check_lists_every_kind_of_problem_at_once(initialized, settings, tmp_path):
    cli = initialized
    open_cycle(settings)
    files = score_files(settings, "2022H1", tmp_path)
    # Drop 东河区's item 19 row and all field scores; import the rest.
    rows = files["monitoring"].read_text(encoding="utf-8").splitlines()
    kept = [r for r in rows if not r.startswith("东河区,19,")]
    files["monitoring"].write_text("\n".join(kept) + "\n", encoding="utf-8")
    for component in ("monitoring", "opinion", "third_party"):
        import_scores(settings, files[component], component=component)
    result = cli("check", "--cycle", "2022H1")
    assert result.exit_code != 0
    out = result.output
    assert "缺少评分：东河区 的指标 19，应由 市审批服务局 评分" in out
    assert "自评分未核实：市工信局" in out
    assert "缺少实地调研得分：东河区" in out
    refused = cli("results", "--cycle", "2022H1", "--format", "json")
    assert refused.exit_code != 0 and "还不能计算结果" in refused.output


def test_verification_confirm_adjust_lines_and_freeze(initialized, settings, tmp_path):
    cli = initialized
    files = scored_cycle(settings, tmp_path, verify=False)
    pending = cli("verify", "list", "--cycle", "2022H1", "--self-scored")
    assert "待核实" in pending.output and "市工信局" in pending.output
    one = cli("verify", "confirm", "--cycle", "2022H1", "--unit", "市卫健委", "--indicator", "20")
    assert one.exit_code == 0 and "已核实" in one.output
    verify_self_scored(settings)
    assert cli("check", "--cycle", "2022H1").exit_code == 0
    # The lead re-sends a different self-score: the confirmation no longer covers it.
    write(tmp_path / "re.csv", MONITORING_HEADER + "市卫健委,20,市卫健委,0.1,重新评分\n")
    import_scores(settings, tmp_path / "re.csv", component="monitoring")
    stale = cli("check", "--cycle", "2022H1")
    assert stale.exit_code != 0 and "须重新核实" in stale.output
    no_reason = cli("verify", "adjust", "--cycle", "2022H1", "--unit", "市卫健委", "--indicator", "20", "--score", "0.3")
    assert no_reason.exit_code != 0 and "原因" in no_reason.output
    too_high = cli("verify", "adjust", "--cycle", "2022H1", "--unit", "市卫健委", "--indicator", "20", "--score", "0.6", "--reason", "x")
    assert too_high.exit_code != 0 and "0 到 0.5" in too_high.output
    adjust_score(settings, unit="市卫健委", indicator=20, score="0.3", reason="平台上线时间晚于节点")
    add_line(settings, unit="东河区", kind="bonus", points="2", reason="国家试点", evidence="国办函〔2022〕1号")
    add_line(settings, unit="青山区", kind="deduction", points="1", reason="数据报送不及时")
    add_line(settings, unit="固阳县", kind="veto", reason="发生重大网络安全事件")
    assert cli("verify", "deduct", "--cycle", "2022H1", "--unit", "青山区", "--points", "-1", "--reason", "x").exit_code != 0
    lines = cli("verify", "list", "--cycle", "2022H1", "--lines").output
    assert "国家试点" in lines and "一票否决" in lines
    rows = {r["unit_name"]: r for r in result_rows(settings)}
    assert rows["固阳县"]["grade"] == "较差" and any("一票否决" in f for f in rows["固阳县"]["flags"])
    assert rows["东河区"]["adjustments"] == "2.00" and rows["青山区"]["adjustments"] == "-1.00"
    explained = cli("explain", "--cycle", "2022H1", "--unit", "市卫健委").output
    assert "核实调整为 0.3" in explained and "平台上线时间晚于节点" in explained

    # Sign-off freezes; a change needs an explicit, logged re-opening.
    # Items still on default points: the verification is not signed until the team accepts them.
    refused = cli("verify", "signoff", "--cycle", "2022H1")
    assert refused.exit_code != 0 and "默认分值未确认：指标 1–18、54–90（共 55 项）" in refused.output
    assert cli("points", "accept-defaults", "--cycle", "2022H1").exit_code != 0  # a reason is required
    accepted = cli("points", "accept-defaults", "--cycle", "2022H1", "--reason", "牵头考核单位未明确分值")
    assert accepted.exit_code == 0 and "共 55 项" in accepted.output
    sign_off(settings)
    frozen = cli("scores", "import", files["opinion"], "--cycle", "2022H1", "--component", "opinion", "--source", "另一平台")
    assert frozen.exit_code != 0 and "已冻结" in frozen.output and "cycle reopen" in frozen.output
    assert cli("verify", "bonus", "--cycle", "2022H1", "--unit", "东河区", "--points", "1", "--reason", "x").exit_code != 0
    assert cli("cycle", "reopen", "2022H1").exit_code != 0  # a reason is required
    reopen_cycle(settings, "2022H1", reason="市卫健委申请复核")
    with db.session_scope(settings) as session:
        last = session.exec(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert last.action == "cycle.reopen" and last.reason == "市卫健委申请复核"
    assert audit_chain_ok(settings)


def test_signoff_refused_while_problems_remain(initialized, settings, tmp_path):
    cli = initialized
    scored_cycle(settings, tmp_path, verify=False)
    result = cli("verify", "signoff", "--cycle", "2022H1")
    assert result.exit_code != 0 and "自评分未核实" in result.output


# --------------------------------------------------------------------------- results


def test_results_formats_and_explain(initialized, settings, tmp_path):
    cli = initialized
    scored_cycle(settings, tmp_path)
    rows = json.loads(cli("results", "--cycle", "2022H1", "--format", "json").stdout)
    assert len(rows) == 36
    first = rows[0]
    assert set(first) == {"unit_code", "unit_name", "group", "areas", "monitoring", "field", "opinion", "third_party",
                          "adjustments", "total", "base", "own_points", "rank", "grade", "flags"}
    assert first["group"] == "district" and first["rank"] == 1
    for r in rows:
        for key in ("monitoring", "field", "opinion", "third_party", "total"):
            assert len(r[key].split(".")[1]) == 2
        # Every published figure is explainable from the published parts (within rounding).
        weighted = (Decimal(r["monitoring"]) * 60 + Decimal(r["field"]) * 20 + Decimal(r["opinion"]) * 10
                    + Decimal(r["third_party"]) * 10) / 100
        assert abs(weighted - Decimal(r["total"])) <= Decimal("0.01")
    districts = [r for r in rows if r["group"] == "district"]
    assert [r["rank"] for r in districts] == sorted(r["rank"] for r in districts)
    assert sorted(districts[0]["areas"]) == ["1", "2", "3", "4", "5", "6", "7"]
    health = next(r for r in rows if r["unit_name"] == "市卫健委")
    assert list(health["areas"]) == ["1"]  # it undertakes item 20 only
    # Issue 27: its base (0.5 points, all its own scoring) is below the shipped minimum: listed, not ranked.
    assert (health["base"], health["own_points"], health["rank"], health["grade"]) == ("0.50", "0.50", "列示", "—")

    text = cli("results", "--cycle", "2022H1", "--format", "csv").stdout
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert table[0][:3] == ["代码", "单位", "分组"] and "总分" in table[0] and len(table) == 37

    xlsx = tmp_path / "results.xlsx"
    assert cli("results", "--cycle", "2022H1", "--format", "xlsx", "--out", xlsx).exit_code == 0
    workbook = openpyxl.load_workbook(xlsx)
    assert workbook.sheetnames == ["旗县区、稀土高新区", "市直部门、单位"]
    sheet = workbook["旗县区、稀土高新区"]
    assert sheet.max_row == 2 + 10 + 2  # title, header, ten units, a blank row and how the figures were rounded
    assert sheet.cell(sheet.max_row, 1).value.startswith("注：") and "逐级计算" in sheet.cell(sheet.max_row, 1).value
    assert cli("results", "--cycle", "2022H1", "--format", "xlsx").exit_code != 0  # needs --out

    table_out = cli("results", "--cycle", "2022H1").output
    assert "旗县区、稀土高新区" in table_out and "达尔罕茂明安联合旗" in table_out
    assert "注：各项分数保留两位小数，日常监测由各方面得分、总分由各部分得分逐级计算" in table_out.replace("\n", "")

    donghe = next(r for r in rows if r["unit_name"] == "东河区")
    explained = cli("explain", "--cycle", "2022H1", "--unit", "东河区").output
    assert f"总分 {donghe['total']} 分" in explained
    assert "日常监测 = 100 × Σ公布的大项得分" in explained
    assert "3 号" in explained and "取平均" in explained and "市政府办公室" in explained and "市公安局" in explained
    assert "默认平均分配" in explained and "2022H1-monitoring.csv" in explained


def test_annual_mean_of_two_halves(initialized, settings, tmp_path):
    cli = initialized
    scored_cycle(settings, tmp_path, "2022H1", seed=1)
    scored_cycle(settings, tmp_path, "2022H2", seed=2)
    h1 = {r["unit_code"]: Decimal(r["total"]) for r in result_rows(settings, "2022H1")}
    h2 = {r["unit_code"]: Decimal(r["total"]) for r in result_rows(settings, "2022H2")}
    annual = json.loads(cli("annual", "2022", "--format", "json").stdout)
    assert len(annual) == 36
    for r in annual:
        expected = (h1[r["unit_code"]] + h2[r["unit_code"]]) / 2
        assert abs(Decimal(r["total"]) - expected) <= Decimal("0.01")
        assert r["first_half"] == format(h1[r["unit_code"]], "f")
    missing = cli("annual", "2023", "--format", "json")
    assert missing.exit_code != 0 and "2023H1" in missing.output


def test_worked_example_on_the_2022_catalog_several_leads_and_default_points(initialized, settings, tmp_path):
    """市政府金融办 undertakes items 36 and 87, both with several lead assessors.

    Item 36 (1 point, area 一, leads 市政府金融办 and 市工信局): 0.9 and 0.8 → 0.85.
    Item 87 (group 7.2 of 3 points shared by open items 87–89 → default 1 point, area 七;
    leads 市财政局, 市发改委, 市政府金融办): 0.9, 0.6, 1 → 2.5 / 3 = 0.8333….
    Published figures one level below each (the default 逐级 rule), from the item up: item 87 is printed
    and counted 0.83. A(一) = 25 × 0.85 / 1 = 21.25;  A(七) = 5 × 0.83 / 1 = 4.15 (exactly: 4.1666… → 4.17).
    M = 100 × (21.25 + 4.15) / (25 + 5) = 2540 / 30 = 84.6666… → 84.67.
    F = O = T = 80: H = 0.6 × 84.67 + 16 + 8 + 8 = 82.802 → 82.80.
    """
    cli = initialized
    scored_cycle(settings, tmp_path, verify=False)
    write(tmp_path / "jrb.csv", MONITORING_HEADER + "市政府金融办,36,市政府金融办,0.9,\n市政府金融办,36,市工信局,0.8,\n"
          "市政府金融办,87,市财政局,0.9,\n市政府金融办,87,市发改委,0.6,\n市政府金融办,87,金融办,1,\n")
    import_scores(settings, tmp_path / "jrb.csv", component="monitoring")
    for component in ("field", "opinion", "third_party"):
        # Same source as the first import: replaces 市政府金融办's score there, keeps the rest.
        write(tmp_path / f"{component}.csv", "单位,得分\n市政府金融办,80\n")
        result = cli("scores", "import", tmp_path / f"{component}.csv", "--cycle", "2022H1", "--component", component)
        assert result.exit_code == 0 and "替换 1 项" in result.output
    verify_self_scored(settings)
    rows = {r["unit_name"]: r for r in result_rows(settings)}
    jrb = rows["市政府金融办"]
    assert jrb["areas"] == {"1": "21.25", "7": "4.15"}
    assert jrb["monitoring"] == "84.67"
    assert (jrb["field"], jrb["opinion"], jrb["third_party"]) == ("80.00", "80.00", "80.00")
    assert jrb["total"] == "82.80"
    assert any("默认分值：指标 87" in f for f in jrb["flags"])


def test_check_catches_an_allocation_that_does_not_add_up(initialized, settings):
    """Entry refuses partial allocations; if one reaches the database anyway, check lists it."""
    from kaoping.models import Indicator, PointsAllocation, Unit

    cli = initialized
    open_cycle(settings)
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        item = session.exec(select(Indicator).where(Indicator.catalog_id == cycle.catalog_id, Indicator.number == 54)).one()
        lead = session.exec(select(Unit).where(Unit.code == "gxj")).one()
        session.add(PointsAllocation(cycle_id=cycle.id, indicator_id=item.id, container="3", points=Decimal(10), lead_unit_id=lead.id))
    result = cli("check", "--cycle", "2022H1")
    assert result.exit_code != 0 and "分值明确不完整或合计不符" in result.output and "54、55、56、57、58" in result.output


def test_lead_scores_full_marks_by_number_or_word_and_a_clear_refusal_otherwise(initialized, settings, tmp_path):
    cli = initialized
    scored_cycle(settings, tmp_path, verify=False)
    refused = write(tmp_path / "bad.csv", MONITORING_HEADER + "东河区,7,市审批服务局,0.67,\n")
    result = cli("scores", "import", refused, "--cycle", "2022H1", "--component", "monitoring")
    assert result.exit_code != 0
    assert "0.67 超出范围" in result.output and "满分填 0.6667 或“满分”" in result.output
    good = write(tmp_path / "full.csv", MONITORING_HEADER + "东河区,6,市审批服务局,满分,\n东河区,7,市审批服务局,0.6667,\n")
    result = cli("scores", "import", good, "--cycle", "2022H1", "--component", "monitoring")
    assert result.exit_code == 0, result.output
    assert cli("verify", "confirm", "--cycle", "2022H1", "--all-self-scored").exit_code == 0
    explained = cli("explain", "--cycle", "2022H1", "--unit", "东河区").output
    # 0.6667 and 满分 both count as the exact 2/3: the item's value is shown as 0.666667… (2/3), not 0.6667.
    line6 = next(line for line in explained.splitlines() if line.strip().startswith("6 号"))
    line7 = next(line for line in explained.splitlines() if line.strip().startswith("7 号"))
    assert "得 0.6667…" in line6 and "得 0.6667…" in line7, (line6, line7)
    rows = json.loads(cli("results", "--cycle", "2022H1", "--format", "json").stdout)
    assert any(r["unit_name"] == "东河区" for r in rows)
