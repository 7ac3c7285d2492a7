"""`make demo`: a half-year cycle on embedded defaults, with simulated people.

A fresh SQLite file under ``demo-output/``; a local SMTP server that saves every message as
.eml under ``demo-output/mail/``; the 2022 catalog and Baotou's units; the cycle 2022H1
opened; Word forms emailed; reminders on working days; units filling in and returning
their self-assessments (one late, one refused and then resubmitted) with receipts and
refusals emailed back; lead assessors' sheets; field visits scheduled with calendar
invitations; third-party and opinion results; verification and approval signed with the
one-time codes the signers received by email; results, reports, and their distribution.
Everything a person sends goes through the same intake as in production. (The Prefect
flows that run these stages on their own are the next step; here the demo drives them.)
"""

from __future__ import annotations

import email
import random
import re
import shutil
from datetime import date, datetime
from decimal import Decimal
from email import policy
from fractions import Fraction
from pathlib import Path

from rich.console import Console
from sqlmodel import select

from documents.forms import FORM_LAYOUTS, build_forms
from documents.intake import receive as intake_receive
from documents.reports import build_reports
from kaoping import db
from kaoping.catalog import summarize
from kaoping.cycles import get_cycle, open_cycle
from kaoping.files import Upload
from kaoping.policy import load_policy
from kaoping.results import compute_cycle, result_rows
from kaoping.settings import Settings
from kaoping.signoff import give_signoff, request_signoff
from kaoping.simulate import fill_docx_table
from kaoping.visits import confirm_visits, plan_visits, read_teams
from models import Contact, FormKind
from notifications.mailer import send_pending
from notifications.mailsink import MailSink
from notifications.messages import form_recipients, queue_form, queue_report_distribution
from notifications.reminders import run_reminders

ACTOR = "demo:专班"
PROGRESS = ["完成", "取得明显成效", "取得阶段性成效", "推进中"]
SITUATIONS = ["已按计划完成，相关系统已上线运行。", "主体建设完成，正在试运行并持续优化。", "已完成方案编制，正在推进采购和部署。"]
DEDUCTIONS = ["进度滞后", "佐证材料不全", "部分任务未完成", "成效不明显"]
DEADLINE = date(2022, 7, 8)


def run(output: Path, console: Console, *, initialize) -> None:
    output = Path(output)
    base = Settings(var_dir=output.resolve(), database_url="", _env_file=None)
    db.dispose_engine(base.effective_database_url)
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    with MailSink(output / "mail") as sink:
        settings = Settings(var_dir=output.resolve(), database_url="", smtp_host="127.0.0.1", smtp_port=sink.port,
                            _env_file=None)
        _run(settings, output, console, sink, initialize)


def _run(settings: Settings, output: Path, console: Console, sink: MailSink, initialize) -> None:
    rng = random.Random(2022)
    say = console.print
    say(f"[bold]kaoping 演示[/bold] — 全部输出在 {output}/（邮件在 {sink.folder}/）", markup=True)
    for line in initialize(settings):
        say("  " + line)
    with db.session_scope(settings) as session:
        from kaoping.cli import print_summary

        print_summary(summarize(session, 2022))

    def deliver() -> None:
        report = send_pending(settings)
        say(f"  [dim]发件箱：已发送 {len(report.sent)} 封（共 {sink.count} 封 .eml）[/dim]", markup=True)

    say("\n[bold]1. 开启 2022 年上半年考评周期，下发自评表[/bold]", markup=True)
    with db.session_scope(settings) as session:
        cycle = open_cycle(session, code="2022H1", policy=load_policy(settings.data_dir / "policies" / "default.yaml"),
                           policy_source="default.yaml", actor=ACTOR)
    forms = issue(settings, FormKind.self_assessment, say)
    deliver()

    say("\n[bold]2. 截止前提醒（3 个和 1 个工作日前）[/bold]", markup=True)
    for day in (date(2022, 7, 5), date(2022, 7, 7)):
        with db.session_scope(settings) as session:
            run_ = run_reminders(session, settings, today=day)
        say(f"  {day}：提醒 {len(run_.reminders)} 个单位")
    deliver()

    say("\n[bold]3. 各单位填报并交回自评表（回执或退回原因自动回复）[/bold]", markup=True)
    returned = output / "returned"
    returned.mkdir()
    header = FORM_LAYOUTS[FormKind.self_assessment]["main"].header
    late_unit, sloppy_unit, silent_unit = forms[3].subject_label, forms[5].subject_label, forms[8].subject_label
    on_time = datetime(2022, 7, 6, 10, 0, tzinfo=settings.tz)

    def answer(cells, skip_first=False):
        if skip_first and cells[0] == "1":
            return {4: rng.choice(SITUATIONS)}
        return {4: rng.choice(SITUATIONS), 5: rng.choice(PROGRESS), 6: "工作方案.pdf\n推进情况报告.docx"}

    for built in forms:
        if built.subject_label == silent_unit:
            continue  # returns only after the overdue notice and escalation
        sender = liaison(settings, built.form.subject_unit_id)
        data = built.path.read_bytes()
        if built.subject_label == sloppy_unit:
            ok, text = receive(settings, returned / f"{built.path.stem}-第一次.docx",
                               fill_docx_table(data, header, lambda c: answer(c, skip_first=True)), sender, on_time)
            say(f"  [red]退回[/red] {sloppy_unit}：{text.splitlines()[1].strip()}", markup=True)
        at = datetime(2022, 7, 11, 9, 30, tzinfo=settings.tz) if built.subject_label == late_unit else on_time
        ok, text = receive(settings, returned / built.path.name, fill_docx_table(data, header, answer), sender, at)
        if built.subject_label in (late_unit, sloppy_unit):
            say(f"  {'已接收' if ok else '退回'} {built.subject_label}：{text}")
    with db.session_scope(settings) as session:
        run_ = run_reminders(session, settings, today=date(2022, 7, 11))
    say(f"  2022-07-11：{silent_unit} 仍未报送 → 逾期通知 {len(run_.overdue)} 个单位，督办（抄送专班）{len(run_.escalations)} 个")
    silent = next(b for b in forms if b.subject_label == silent_unit)
    receive(settings, returned / silent.path.name, fill_docx_table(silent.path.read_bytes(), header, answer),
            liaison(settings, silent.form.subject_unit_id), datetime(2022, 7, 12, 8, 50, tzinfo=settings.tz))
    say(f"  {silent_unit} 于 7 月 12 日补报（标注逾期）；共收回 {len(forms)} 份自评表")
    deliver()

    say("\n[bold]4. 牵头考核单位评分（评分表附各单位自评内容）[/bold]", markup=True)
    strength: dict[str, Fraction] = {}
    main_header = FORM_LAYOUTS[FormKind.lead_scoring]["main"].header

    def score(cells):
        shown = cells[1].split("（")[0]
        # "0.6667…" is 2/3 rounded up for display: stay under it.
        points = Fraction(shown.rstrip("…")) - (Fraction(1, 10000) if shown.endswith("…") else 0)
        unit = cells[2].removesuffix("（自评项）")
        share = strength.setdefault(unit, Fraction(rng.randint(72, 97), 100)) + Fraction(rng.randint(-6, 6), 100)
        value = min(points, points * share)
        text = format(Decimal(int(value * 100)) / 100, "f")
        return {5: text} if value == points else {5: text, 6: rng.choice(DEDUCTIONS)}

    for built in issue(settings, FormKind.lead_scoring, say):
        receive(settings, returned / built.path.name, fill_docx_table(built.path.read_bytes(), main_header, score),
                liaison(settings, built.form.subject_unit_id), on_time)
    say("  26 个牵头考核单位的评分表已全部收回录入")
    deliver()

    say("\n[bold]5. 实地调研：按工作日排期、发日历邀请、收回调研记录[/bold]", markup=True)
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        visit_plan = plan_visits(session, cycle, start=date(2022, 6, 20), end=date(2022, 7, 1),
                                 teams_data=read_teams(settings.data_dir / "demo" / "teams.yaml"))
        confirm_visits(session, settings, cycle, visit_plan, actor=ACTOR)
    teams, days = visit_plan.plan.load()
    say(f"  {len(visit_plan.plan.visits)} 个单位，{len(visit_plan.problem.days)} 个工作日，"
        + "，".join(f"{t} {n} 次" for t, n in sorted(teams.items())) + "（成员回避本单位和申报回避的单位）")
    for built in issue(settings, FormKind.field_visit, say):
        values = {"调研日期": "按日程", "调研组成员": "见日历邀请", "发现的问题": "部分事项网办深度不够",
                  "实地调研得分": str(rng.randint(72, 96)), "评分说明": "对照报送材料逐项核实"}
        receive(settings, returned / built.path.name,
                fill_docx_table(built.path.read_bytes(), ("项目", "内容"), lambda c: {1: values[c[0]]} if c[0] in values else {}),
                "", on_time)
    deliver()

    say("\n[bold]6. 第三方评估、民意调查结果[/bold]", markup=True)
    for kind in (FormKind.third_party, FormKind.opinion):
        for built in issue(settings, kind, say):
            receive(settings, returned / built.path.name,
                    fill_docx_table(built.path.read_bytes(), ("序号", "单位", "得分", "说明"),
                                    lambda c: {2: f"{rng.randint(7000, 9800) / 100:.2f}"}), "", on_time)
    deliver()

    say("\n[bold]7. 专班核实、签字与审定（验证码只发给签字人）[/bold]", markup=True)
    from kaoping.verification import confirm_all_self_scored

    with db.session_scope(settings) as session:
        done = confirm_all_self_scored(session, get_cycle(session, "2022H1"), actor=ACTOR, reason="核对佐证材料无误")
    say(f"  核实牵头考核单位自评项 {len(done)} 项")
    for stage, who in (("verification", settings.verifier_email), ("approval", settings.approver_email)):
        with db.session_scope(settings) as session:
            request_signoff(session, settings, get_cycle(session, "2022H1"), stage, actor=ACTOR)
        deliver()
        code = code_from_mailbox(sink.folder, who)
        with db.session_scope(settings) as session:
            outcome = give_signoff(session, settings, get_cycle(session, "2022H1"), stage, code=code, approve=True,
                                   actor="demo:签字人")
        say(f"  {outcome.message}（验证码取自发给 {who} 的邮件）")

    say("\n[bold]8. 考评结果[/bold]", markup=True)
    with db.session_scope(settings) as session:
        inputs, results = compute_cycle(session, get_cycle(session, "2022H1"))
        rows = result_rows(inputs, results)
    from kaoping.cli import print_result_table

    print_result_table(rows, "2022年上半年数字政府建设考评结果")

    say("\n[bold]9. 报告与分发[/bold]", markup=True)
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        built = build_reports(session, settings, cycle, output / "reports", number=5, signed=date(2022, 7, 15), actor=ACTOR)
        queue_report_distribution(session, settings, cycle, built)
    deliver()
    say(f"  通报：{built.tongbao}\n  报告：{built.baogao}\n  反馈函：{len(built.letters)} 份（{built.letters[0].parent}/）"
        f"\n  实绩考核结果表：{built.workbook}")
    say(f"\n邮件：{sink.count} 封（{sink.folder}/*.eml）；数据库：{settings.effective_database_url.removeprefix('sqlite:///')}；"
        f"交回的文件：{returned}/（原件另存于 {settings.received_dir}/）")


def issue(settings: Settings, kind: FormKind, say) -> list:
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        built = build_forms(session, settings, cycle, kind, out_dir=settings.var_dir / "forms", deadline=DEADLINE,
                            actor=ACTOR, today=date(2022, 6, 20))
        queued = sum(queue_form(session, settings, cycle, b, recipients=form_recipients(session, settings, cycle, b))
                     for b in built)
    say(f"  已生成并发出 {len(built)} 份{kind.label}（{queued} 封邮件）")
    return built


def liaison(settings: Settings, unit_id: int | None) -> str:
    if unit_id is None:
        return ""
    with db.session_scope(settings) as session:
        return session.exec(select(Contact.email).where(Contact.unit_id == unit_id, Contact.role == "liaison")).first() or ""


def receive(settings: Settings, path: Path, data: bytes, sender: str, at: datetime) -> tuple[bool, str]:
    """A returned file arriving: saved where the office would, then through the production intake."""
    path.write_bytes(data)
    outcome = intake_receive(settings, Upload(path.name, data), sender=sender, received_at=at)
    return outcome.accepted, outcome.result.summary if outcome.accepted else outcome.reason


def code_from_mailbox(folder: Path, address: str) -> str:
    """What the signer does: open the newest sign-off email sent to them and read the code."""
    for path in sorted(folder.glob("*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if address in str(message.get("To", "")) and "验证码" in str(message.get("Subject", "")):
            match = re.search(r"验证码：(\d{6})", message.get_body(("plain",)).get_content())
            if match:
                return match.group(1)
    raise RuntimeError(f"no sign-off email for {address}")
