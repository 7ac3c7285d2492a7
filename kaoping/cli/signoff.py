"""`kaoping signoff request|give` (sign-offs proven by emailed one-time codes) and `kaoping status`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

from kaoping.adapters.prefect_runs import release_paused_run
from kaoping.cli.common import (
    CycleOpt,
    actor_of,
    cycle_session,
    err,
    local_today,
    out,
    refusals_exit,
)
from kaoping.domain.clock import local_time
from kaoping.services.signoff.reply import count_outside_answer, replies
from kaoping.services.signoff.signatures import (
    STAGES,
    give_signoff,
    request_signoff,
    waiting_run,
)
from kaoping.services.stages.status import cycle_status

signoff_app = typer.Typer(help="签字确认 / sign-offs with emailed one-time codes", no_args_is_help=True)

StageOpt = Annotated[str, typer.Option("--stage", help="verification（专班核实）或 approval（分管领导审定）")]


@signoff_app.command("request")
@refusals_exit
def signoff_request(cycle: CycleOpt, stage: StageOpt) -> None:
    """提请签字：给指定签字人发一次性验证码（KAOPING_VERIFIER_* / KAOPING_APPROVER_*）。"""
    with cycle_session(cycle) as (s, session, c):
        request, _code = request_signoff(session, s, c, stage, actor=actor_of(s))
    out.print(f"已提请{STAGES[stage]}：验证码已放入发件箱，发往 {request.signer_name} <{request.signer_email}>，"
              f"{local_time(request.expires_at, s.tz)} 前有效（运行 kaoping outbox send 发送）。")


@signoff_app.command("give")
@refusals_exit
def signoff_give(
    cycle: CycleOpt, stage: StageOpt,
    code: Annotated[str, typer.Option(help="邮件中的 6 位验证码")],
    approve: Annotated[bool, typer.Option("--approve/--reject", help="同意（--approve）或退回修改（--reject）")],
    comment: Annotated[str, typer.Option(help="意见（退回时必填）")] = "",
    confirm_self_scored: Annotated[bool, typer.Option(
        "--confirm-self-scored", help="核实签字时确认自评项核实清单所列全部牵头考核单位的自评项（按单位分组记录）")] = False,
    confirm_group: Annotated[list[str] | None, typer.Option(
        "--confirm-group", help="核实签字时只确认这个牵头考核单位的自评项（可重复）；未确认的仍为待核实，签字不生效")] = None,
) -> None:
    """签字（须有签字人本人收到的验证码；签字人通常直接回复签字邮件即可，见 kaoping signoff replies）。"""
    with cycle_session(cycle) as (s, session, c):
        outcome = give_signoff(session, s, c, stage, code=code, approve=approve, comments=comment, actor=actor_of(s),
                               confirm_self_scored=confirm_self_scored, confirm_groups=list(confirm_group or []))
        waiting = waiting_run(session, c, stage)
        if (outcome.ok or outcome.spent) and waiting:
            count_outside_answer(session, c, stage)
    if not outcome.ok:
        err.print(f"[bold red]未签字[/bold red]：{outcome.message}", markup=True)
        if outcome.spent:  # the code is void: the waiting run sends a new one, else the operator asks for one
            note = release_paused_run(waiting, how="验证码已作废，重新发送") if waiting else ""
            err.print(note or f"请重新提请签字：kaoping signoff request --cycle {c.code} --stage {stage}"
                      "（新的验证码只发给签字人本人）。")
        raise typer.Exit(2)
    out.print(outcome.message)
    if waiting:
        note = release_paused_run(waiting)
        if note:
            out.print(note)


@signoff_app.command("replies")
@refusals_exit
def signoff_replies(cycle: CycleOpt, limit: Annotated[int, typer.Option(help="最多列出多少封")] = 50) -> None:
    """列出收到的签字邮件回复及处理结果：已签字、未签字（原因）或不予处理。"""
    fates = {"accepted": "已签字", "refused": "未签字", "ignored": "不予处理"}
    with cycle_session(cycle) as (s, session, c):
        rows = replies(session, cycle_code=c.code, limit=limit)
        table = Table(show_header=True, header_style="bold", box=box.SIMPLE_HEAD)
        for col in ("收到时间", "发件人", "环节", "结果", "说明", "已回信"):  # only 说明 wraps in a narrow terminal
            table.add_column(col, no_wrap=col != "说明")
        for r in rows:
            table.add_row(local_time(r.received_at, s.tz), r.sender, STAGES.get(r.stage, r.stage), fates.get(r.fate, r.fate),
                          r.reason, "是" if r.answer_message_id else "否")
    out.print(table if rows else f"{c.code} 尚未收到签字邮件的回复。")


@refusals_exit
def status_command(cycle: CycleOpt) -> None:
    """周期进展：各类表格应收与已收、逾期单位、发件箱、签字环节。"""
    with cycle_session(cycle) as (s, session, c):
        report = cycle_status(session, c, today=local_today(s), tz=s.tz)
    for line in report.lines():
        out.print(line)
