"""`make demo`: a half-year cycle on embedded defaults, with simulated people.

A fresh SQLite file under ``demo-output/``; the 2022 catalog and Baotou's units; the cycle
2022H1 opened; Word forms issued; units fill in and return their self-assessments (one
late, one refused and then resubmitted); lead assessors return their scoring sheets; field
teams, the third-party evaluator and the opinion survey return theirs; the specialist team
verifies the self-scored items and signs off; results are computed, ranked and written as
公文-format reports. Everything a person would send goes through the same intake as in
production. (Email, working-day scheduling and the Prefect flows come with later issues.)
"""

from __future__ import annotations

import random
import shutil
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from rich.console import Console

from documents.forms import FORM_LAYOUTS, build_forms
from documents.intake import intake
from documents.reports import build_reports
from kaoping import db
from kaoping.catalog import summarize
from kaoping.cycles import get_cycle, open_cycle
from kaoping.errors import KaopingError
from kaoping.files import Upload, keep_received
from kaoping.policy import load_policy
from kaoping.results import compute_cycle, result_rows
from kaoping.settings import Settings
from kaoping.simulate import fill_docx_table
from kaoping.verification import confirm_all_self_scored, signoff
from models import FormKind

ACTOR = "demo:专班"
PROGRESS = ["完成", "取得明显成效", "取得阶段性成效", "推进中"]
SITUATIONS = ["已按计划完成，相关系统已上线运行。", "主体建设完成，正在试运行并持续优化。", "已完成方案编制，正在推进采购和部署。"]
DEDUCTIONS = ["进度滞后", "佐证材料不全", "部分任务未完成", "成效不明显"]


def run(output: Path, console: Console, *, initialize) -> None:
    settings = Settings(var_dir=output.resolve(), database_url="", _env_file=None)
    db.dispose_engine(settings.effective_database_url)
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    rng = random.Random(2022)
    say = console.print
    say(f"[bold]kaoping 演示[/bold] — 全部输出在 {output}/", markup=True)
    for line in initialize(settings):
        say("  " + line)
    with db.session_scope(settings) as session:
        from kaoping.cli import print_summary

        print_summary(summarize(session, 2022))

    say("\n[bold]1. 开启 2022 年上半年考评周期[/bold]", markup=True)
    with db.session_scope(settings) as session:
        cycle = open_cycle(session, code="2022H1", policy=load_policy(settings.data_dir / "policies" / "default.yaml"),
                           policy_source="default.yaml", actor=ACTOR)
    deadline = date(2022, 7, 8)
    say(f"  已开启 {cycle.code}；自评表报送截止 {deadline:%Y-%m-%d}")

    forms_dir, returned_dir = output / "forms", output / "returned"
    returned_dir.mkdir()

    def issue(kind: FormKind) -> list:
        with db.session_scope(settings) as session:
            built = build_forms(session, settings, get_cycle(session, "2022H1"), kind, out_dir=forms_dir, deadline=deadline,
                                actor=ACTOR, today=date(2022, 6, 20))
        say(f"  已生成 {len(built)} 份{kind.label}（{forms_dir}/）")
        return built

    def receive(path: Path, data: bytes, *, sender: str = "", at: datetime | None = None) -> tuple[bool, str]:
        path.write_bytes(data)
        upload = Upload(path.name, data)
        try:
            with db.session_scope(settings) as session:
                result = intake(session, settings, upload, sender=sender, received_at=at, actor="intake")
            return True, result.summary
        except KaopingError as exc:
            with db.session_scope(settings) as session:
                keep_received(session, settings, upload, purpose="intake", status="refused", reason=str(exc), sender=sender)
            return False, str(exc)

    on_time = datetime(2022, 7, 5, 10, 0).astimezone()
    say("\n[bold]2. 各单位填报并交回自评表[/bold]", markup=True)
    header = FORM_LAYOUTS[FormKind.self_assessment]["main"].header
    forms = issue(FormKind.self_assessment)
    late_unit, sloppy_unit = forms[3].subject_label, forms[5].subject_label
    for built in forms:
        def answer(cells, skip_first=False):
            if skip_first and cells[0] == "1":
                return {4: rng.choice(SITUATIONS)}
            return {4: rng.choice(SITUATIONS), 5: rng.choice(PROGRESS), 6: "工作方案.pdf"}
        data = built.path.read_bytes()
        if built.subject_label == sloppy_unit:
            ok, text = receive(returned_dir / f"{built.path.stem}-第一次.docx",
                               fill_docx_table(data, header, lambda c: answer(c, skip_first=True)), at=on_time)
            say(f"  [red]退回[/red] {sloppy_unit}：{text.splitlines()[1].strip()}", markup=True)
        at = datetime(2022, 7, 11, 9, 30).astimezone() if built.subject_label == late_unit else on_time
        ok, text = receive(returned_dir / built.path.name, fill_docx_table(data, header, answer), at=at)
        if built.subject_label in (late_unit, sloppy_unit):
            say(f"  {'已接收' if ok else '退回'} {built.subject_label}：{text}")
    say(f"  共收回 {len(forms)} 份自评表（{late_unit} 逾期报送，{sloppy_unit} 更正后重新报送）")

    say("\n[bold]3. 牵头考核单位评分[/bold]", markup=True)
    strength = {}
    main_header = FORM_LAYOUTS[FormKind.lead_scoring]["main"].header
    for built in issue(FormKind.lead_scoring):
        def score(cells):
            shown = cells[1].split("（")[0]
            # "0.6667…" is 2/3 rounded up for display: stay under it.
            points = Fraction(shown.rstrip("…")) - (Fraction(1, 10000) if shown.endswith("…") else 0)
            unit = cells[2].removesuffix("（自评项）")
            share = strength.setdefault(unit, Fraction(rng.randint(72, 97), 100)) + Fraction(rng.randint(-6, 6), 100)
            value = min(points, points * share)
            text = format(Decimal(int(value * 100)) / 100, "f")
            return {5: text} if value == points else {5: text, 6: rng.choice(DEDUCTIONS)}
        ok, text = receive(returned_dir / built.path.name, fill_docx_table(built.path.read_bytes(), main_header, score),
                           at=on_time)
        if not ok:
            say(f"  [red]退回[/red] {built.subject_label}：{text}", markup=True)
    say("  26 个牵头考核单位的评分表已全部收回录入")

    say("\n[bold]4. 实地调研、第三方评估、民意调查结果[/bold]", markup=True)
    for built in issue(FormKind.field_visit):
        values = {"调研日期": "2022-06-28", "调研组成员": "调研一组", "发现的问题": "部分事项网办深度不够",
                  "实地调研得分": str(rng.randint(72, 96)), "评分说明": "对照报送材料逐项核实"}
        receive(returned_dir / built.path.name,
                fill_docx_table(built.path.read_bytes(), ("项目", "内容"), lambda c: {1: values[c[0]]} if c[0] in values else {}),
                at=on_time)
    for kind in (FormKind.third_party, FormKind.opinion):
        for built in issue(kind):
            receive(returned_dir / built.path.name,
                    fill_docx_table(built.path.read_bytes(), ("序号", "单位", "得分", "说明"),
                                    lambda c: {2: f"{rng.randint(7000, 9800) / 100:.2f}"}), at=on_time)
    say("  已收回全部实地调研记录表、第三方评估和民意调查结果表")

    say("\n[bold]5. 专班核实与签字[/bold]", markup=True)
    with db.session_scope(settings) as session:
        done = confirm_all_self_scored(session, get_cycle(session, "2022H1"), actor=ACTOR, reason="核对佐证材料无误")
    say(f"  核实牵头考核单位自评项 {len(done)} 项")
    with db.session_scope(settings) as session:
        signoff(session, get_cycle(session, "2022H1"), actor=ACTOR, note="演示：专班核实签字")
    say("  专班已核实签字，分数冻结")

    say("\n[bold]6. 考评结果[/bold]", markup=True)
    with db.session_scope(settings) as session:
        inputs, results = compute_cycle(session, get_cycle(session, "2022H1"))
        rows = result_rows(inputs, results)
    from kaoping.cli import print_result_table

    print_result_table(rows, "2022年上半年数字政府建设考评结果")

    say("\n[bold]7. 报告[/bold]", markup=True)
    with db.session_scope(settings) as session:
        built = build_reports(session, settings, get_cycle(session, "2022H1"), output / "reports", number=5,
                              signed=date(2022, 7, 15), actor=ACTOR)
    say(f"  通报：{built.tongbao}\n  报告：{built.baogao}\n  反馈函：{len(built.letters)} 份（{built.letters[0].parent}/）"
        f"\n  实绩考核结果表：{built.workbook}")
    say(f"\n数据库：{settings.effective_database_url.removeprefix('sqlite:///')}；发出的表格：{forms_dir}/；"
        f"交回的文件：{returned_dir}/（原件另存于 {settings.received_dir}/）")
