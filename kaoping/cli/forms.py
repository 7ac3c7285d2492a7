"""`kaoping forms build|send`, `kaoping intake` and `kaoping report`: the Word documents."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from kaoping import db
from kaoping.adapters.files import staged_folder
from kaoping.cli.common import (
    CycleOpt,
    actor_of,
    cycle_session,
    err,
    local_today,
    out,
    parse_day,
    parse_form_kind,
    ready,
    refusals_exit,
)
from kaoping.domain.errors import InvalidInput
from kaoping.services.forms import build_forms, issuing
from kaoping.services.reports.annual import build_annual_reports
from kaoping.services.reports.documents import build_reports
from kaoping.services.reports.placeholders import refuse_placeholders
from kaoping.services.returns.intake import (
    held_files,
    held_objections,
    receive_path,
    reject_held,
    release_held,
)

forms_app = typer.Typer(help="Word 表单 / forms to fill in", no_args_is_help=True)

KindOpt = Annotated[str, typer.Option(help="self_assessment | lead_scoring | field_visit | third_party | opinion")]
DeadlineOpt = Annotated[str | None, typer.Option(help="报送截止日期，例如 2022-07-10（默认今天起 15 天）")]


@forms_app.command("build")
@refusals_exit
def forms_build(
    cycle: CycleOpt,
    kind: KindOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="输出目录")],
    deadline: DeadlineOpt = None,
    unit: Annotated[list[str] | None, typer.Option("--unit", help="只生成这些单位的表（代码或名称，可重复）")] = None,
) -> None:
    """生成 Word 表单（不发送）：自评表、评分表、实地调研记录表、第三方评估和民意调查结果表。"""
    s = ready()
    chosen = parse_form_kind(kind)
    due = parse_day(deadline, "截止日期")
    with cycle_session(cycle, s) as (_, session, c):
        codes = issuing.unit_codes(session, unit)
        built = build_forms(session, s, c, chosen, out_dir=out_dir, deadline=due, units=codes, actor=actor_of(s))
    new = sum(1 for b in built if b.created)
    err.print(f"已生成 {len(built)} 份{chosen.label}（新编号或新版本 {new} 份），保存在 {out_dir}/：")
    for b in built:
        out.print(f"  {b.form.form_no} 第 {b.form.version} 版  {b.subject_label}  {b.path.name}")


@forms_app.command("send")
@refusals_exit
def forms_send(
    cycle: CycleOpt,
    kind: KindOpt,
    deadline: DeadlineOpt = None,
    unit: Annotated[list[str] | None, typer.Option("--unit", help="只发这些单位（可重复）")] = None,
) -> None:
    """生成表单并放入发件箱：每个收件人一封，附上 Word 表（再运行 kaoping outbox send 发送）。"""
    s = ready()
    chosen = parse_form_kind(kind)
    due = parse_day(deadline, "截止日期")
    with cycle_session(cycle, s) as (_, session, c):
        sent = issuing.send_forms(session, s, c, chosen, deadline=due, units=unit, actor=actor_of(s))
    out.print(f"已将 {len(sent.built)} 份{chosen.label}放入发件箱：新邮件 {sent.queued} 封（已放入过的不重复）。运行 `kaoping outbox send` 发送。")
    if sent.missing:
        err.print(f"以下单位没有联络员邮箱，未能发送：{'、'.join(sent.missing)}（请用 kaoping units import 补充）")
        raise typer.Exit(1)


HELD_ACTIONS = ("held", "release", "reject")


@refusals_exit
def intake_command(
    files: Annotated[list[Path], typer.Argument(help="收回的 Word 文件（可多个）；或 held | release ID | reject ID --reason …")],
    sender: Annotated[str, typer.Option(help="发件人邮箱（核对是否该单位或表格收件人报送；不填则按操作员录入处理）")] = "",
    cycle: Annotated[str | None, typer.Option("--cycle", help="只接收此考评周期的表格")] = None,
    reason: Annotated[str, typer.Option("--reason", help="reject：退回暂存文件的原因（记入审计日志）")] = "",
) -> None:
    """回收表格：识别签名标识，检查并录入；每个收到的文件都会保存，拒收的说明原因。

    发件人不是该单位（或表格收件人）登记邮箱的，文件暂存待专班核实：kaoping intake held 查看，
    kaoping intake release ID 放行（按正确发件人录入），kaoping intake reject ID --reason … 退回。
    """
    s = ready()
    first = str(files[0]) if files else ""
    if first in HELD_ACTIONS and not files[0].exists():
        _held_command(s, first, [str(f) for f in files[1:]], reason)
        return
    refused = 0
    if not sender.strip():
        err.print("未指定发件人（--sender）：按操作员本人录入处理，不核对发件人，也不发送回执。")
    for path in files:
        outcome = receive_path(s, path, sender=sender, expected_cycle=cycle, actor=actor_of(s), channel="cli")
        if outcome.accepted:
            flag = "（逾期）" if outcome.result.late else ""
            out.print(f"[green]已接收[/green] {path.name}：{outcome.result.form_no} {outcome.result.subject_label}{flag} — {outcome.result.summary}", markup=True)
        elif outcome.held:
            refused += 1
            where = "objections" if outcome.held_in == "objections" else "intake"
            err.print(f"[yellow]已暂存[/yellow] {path.name}（暂存编号 {outcome.received_file_id}）：{outcome.reason}\n"
                      f"  核实后运行 kaoping {where} release {outcome.received_file_id} 放行，"
                      f"或 kaoping {where} reject {outcome.received_file_id} --reason … 退回。", markup=True)
        else:
            refused += 1
            err.print(f"[red]已拒收[/red] {path.name}：{outcome.reason}", markup=True)
    if refused:
        raise typer.Exit(2)


def _held_id(args: list[str], action: str) -> int:
    if len(args) != 1 or not args[0].isdigit():
        raise InvalidInput(f"用法：kaoping intake {action} ID（ID 为暂存编号，见 kaoping intake held）。")
    return int(args[0])


def _held_command(s, action: str, args: list[str], reason: str) -> None:
    if action == "held":
        with db.session_scope(s) as session:
            held = held_files(session)
            objections_held = held_objections(session)
        if objections_held:
            out.print(f"另有暂存的异议回复或异议表 {objections_held} 份：请用 kaoping objections held 查看，"
                      "kaoping objections release 编号 受理。")
        if not held:
            out.print("没有暂存待核实的文件。")
            return
        out.print(f"暂存待核实的文件 {len(held)} 个：")
        for r in held:
            when = r.received_at.astimezone(s.tz).strftime("%Y-%m-%d %H:%M")
            form_no = (r.details or {}).get("form_no", "")
            out.print(f"  {r.id}  {when}  {r.filename}  {form_no}  发件人：{r.sender or '（无）'}")
            out.print(f"      {r.reason}")
        return
    file_id = _held_id(args, action)
    if action == "release":
        outcome = release_held(s, file_id, actor=actor_of(s))
        if not outcome.accepted:
            err.print(f"[red]未能放行[/red] 暂存文件 {file_id}（仍为暂存）：{outcome.reason}", markup=True)
            raise typer.Exit(2)
        out.print(f"[green]已放行并录入[/green] 暂存文件 {file_id}：{outcome.result.form_no} {outcome.result.subject_label}"
                  f" — {outcome.result.summary}", markup=True)
        return
    record = reject_held(s, file_id, reason=reason, actor=actor_of(s))
    out.print(f"已退回暂存文件 {file_id}（{record.filename}），原因已记入审计日志；未通知原发件人。")


@refusals_exit
def report_command(
    out_dir: Annotated[Path, typer.Option("--out", help="输出目录")],
    cycle: Annotated[str | None, typer.Option("--cycle", help="考评周期，例如 2022H1")] = None,
    annual: Annotated[int | None, typer.Option("--annual", help="年度，例如 2022：生成年度通报、报告和实绩考核结果表")] = None,
    publish: Annotated[bool, typer.Option("--publish", help="印发：从发文登记取发文字号（不加则生成无文号的征求意见稿）")] = False,
    number: Annotated[int | None, typer.Option(help="通报发文字号的序号（须 --publish；默认取下一个未用的号）")] = None,
    report_number: Annotated[int | None, typer.Option(help="报告发文字号的序号（须 --publish；默认取下一个未用的号）")] = None,
    signed: Annotated[str | None, typer.Option("--date", help="成文日期，例如 2022-07-15（默认今天）")] = None,
) -> None:
    """生成公文格式的通报、报告、各单位反馈函和实绩考核结果表（Word / Excel）；--annual 生成年度文件。"""
    s = ready()
    when = parse_day(signed, "成文日期")
    if (number is not None or report_number is not None) and not publish:
        err.print("指定发文字号须同时加 --publish（征求意见稿不编号）。")
        raise typer.Exit(2)
    if (cycle is None) == (annual is None):
        err.print("请指定 --cycle（半年考评）或 --annual（年度考评）之一。")
        raise typer.Exit(2)
    # Built in a staging folder and moved into --out once the transaction is committed: a full disk
    # or any refusal leaves --out as it was (no half-written document, no number taken).
    if annual is not None:
        with staged_folder(out_dir) as staging:
            with db.session_scope(s) as session:
                built = build_annual_reports(session, s, annual, staging, publish=publish, number=number,
                                             report_number=report_number, signed=when or local_today(s),
                                             actor=actor_of(s), final_dir=out_dir)
        built = _moved(built, staging, out_dir)
        out.print(f"已生成{annual}年度考评文件（{_numbers(built)}）：")
        out.print(f"  通报：{built.tongbao}")
        out.print(f"  报告：{built.baogao}")
        out.print(f"  实绩考核结果表：{built.workbook}")
        return
    if publish:
        refuse_placeholders(s, "印发通报、报告和反馈函")
    with staged_folder(out_dir) as staging:
        with cycle_session(cycle, s) as (_, session, c):
            built = build_reports(session, s, c, staging, publish=publish, number=number, report_number=report_number,
                                  signed=when or local_today(s), actor=actor_of(s), final_dir=out_dir)
    built = _moved(built, staging, out_dir)
    out.print(f"已生成（{_numbers(built)}）：")
    out.print(f"  通报：{built.tongbao}")
    out.print(f"  报告：{built.baogao}")
    out.print(f"  反馈函：{len(built.letters)} 份，在 {built.letters[0].parent}/")
    out.print(f"  实绩考核结果表：{built.workbook}")


def _moved(built, staging: Path, out_dir: Path):
    """The report set's paths where the files now are (``out_dir``), not where they were built."""
    def moved(path: Path) -> Path:
        return out_dir / Path(path).relative_to(staging)

    return replace(built, tongbao=moved(built.tongbao), baogao=moved(built.baogao),
                   letters=[moved(p) for p in built.letters], workbook=moved(built.workbook))


def _numbers(built) -> str:
    if not built.published:
        return "征求意见稿，未编发文字号；印发请加 --publish"
    return f"通报 {built.number}，报告 {built.report_number}" + (
        f"，反馈函 {len(built.letter_numbers)} 个文号" if built.letter_numbers else "")
