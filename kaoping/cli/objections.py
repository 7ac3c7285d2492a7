"""`kaoping objections …`: the objection stage (异议期) — send the provisional 反馈函 (征求意见稿)
and open the window, record an objection received by phone or on paper, list, decide."""

from __future__ import annotations

import re
from typing import Annotated

import typer
from rich.table import Table

from kaoping.cli.common import (
    CycleOpt,
    actor_of,
    cycle_session,
    local_today,
    out,
    parse_day,
    parse_number,
    ready,
    refusals_exit,
)
from kaoping.domain.clock import local_time
from kaoping.domain.errors import InvalidInput, KaopingError
from kaoping.models import ObjectionStatus
from kaoping.services.objections import by_form as objection_intake
from kaoping.services.objections import record as objections
from kaoping.services.objections.basis import decision_basis, missing_attachment_note
from kaoping.services.objections.summary import opinion_lines, summary_lines
from kaoping.services.reports.provisional import open_window
from kaoping.services.scoring.entry import CycleContext, cycle_unit_names

objections_app = typer.Typer(help="异议（征求意见稿与异议处理）/ objections to the provisional results", no_args_is_help=True)


@objections_app.command("open")
@refusals_exit
def objections_open(
    cycle: CycleOpt,
    today: Annotated[str | None, typer.Option(help="发出日期（YYYY-MM-DD），默认今天")] = None,
) -> None:
    """专班核实签字后：向各单位发送初步结果反馈函（征求意见稿），开始异议期（周期流程会自动做这一步）。"""
    s = ready()
    day = parse_day(today) or local_today(s)
    with cycle_session(cycle, s) as (_, session, c):
        opened = open_window(session, s, c, today=day, actor=actor_of(s))
    if opened.skipped:
        out.print(f"异议期此前已开始：{opened.letters} 份征求意见稿已发出，{opened.closes_on} 截止。")
    else:
        again = f"（第 {opened.round} 轮：退回修改后结果有变化）" if opened.round > 1 else ""
        out.print(f"已生成征求意见稿 {opened.letters} 份{again}，邮件 {opened.queued} 封待发送（kaoping outbox send）；"
                  f"异议期至 {opened.closes_on}（含）。")


def _numbers(text: str) -> list[int]:
    found = [int(n) for n in re.findall(r"\d+", text or "")]
    if text and not found:
        raise InvalidInput(f"指标序号“{text}”无效：请写数字，多个用逗号分隔，例如 --indicator 19,20。")
    return found


@objections_app.command("add")
@refusals_exit
def objections_add(
    cycle: CycleOpt,
    unit: Annotated[str, typer.Option(help="提出异议的单位")],
    text: Annotated[str, typer.Option("--text", help="异议内容（必填）")],
    indicator: Annotated[str, typer.Option(help="指标序号，多个用逗号分隔；不写则待归类")] = "",
    evidence: Annotated[str, typer.Option(help="依据")] = "",
) -> None:
    """登记一项通过电话、纸质函件等方式收到的异议（回执发给该单位联络员，并转牵头考核单位）。"""
    s = ready()
    with cycle_session(cycle, s) as (_, session, c):
        created = objections.record(session, s, c, unit=unit, numbers=_numbers(indicator), disputed=text, evidence=evidence,
                                    actor=actor_of(s))
        ids = [o.id for o in created]
    out.print(f"已登记异议 {'、'.join(f'第 {i} 号' for i in ids)}；回执和转办邮件待发送（kaoping outbox send）。")


@objections_app.command("list")
@refusals_exit
def objections_list(
    cycle: CycleOpt,
    open_only: Annotated[bool, typer.Option("--open", help="只列待处理的异议")] = False,
) -> None:
    """列出本周期的异议及处理情况。"""
    s = ready()
    with cycle_session(cycle, s) as (_, session, c):
        rows = objections.listing(session, c, status=ObjectionStatus.open if open_only else None)
        names = cycle_unit_names(session, c)
        summary = summary_lines(session, c)
        opinions = opinion_lines(session, c, [o.id for o in rows])
        table = Table(show_header=True, header_style="bold", title=f"{c.code} 异议")
        for col in ("编号", "单位", "指标", "异议内容", "依据", "收到", "来源", "牵头考核单位意见", "状态", "处理理由"):
            table.add_column(col)
        for o in rows:
            state = ObjectionStatus(o.status).label + (f"（{o.previous_score}→{o.new_score}）" if o.new_score is not None else "")
            note = missing_attachment_note(o)
            table.add_row(str(o.id), names.get(o.unit_id, ""), str(o.indicator_number or "待归类"), o.disputed,
                          o.evidence + (f"【{note}】" if note else ""),
                          local_time(o.received_at, s.tz), {"reply": "回复邮件", "form": "异议表", "cli": "专班登记"}[o.source],
                          opinions.get(o.id, "尚未回复" if o.indicator_number else "—"), state, o.decision_reason)
    out.print(table)
    for line in summary or ["尚未开始异议期。"]:
        out.print(line)


@objections_app.command("decide")
@refusals_exit
def objections_decide(
    cycle: CycleOpt,
    objection_id: Annotated[int, typer.Argument(help="异议编号（kaoping objections list）")],
    uphold: Annotated[bool, typer.Option("--uphold", help="予以采纳（须给出 --score）")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="不予采纳")] = False,
    reason: Annotated[str, typer.Option(help="理由（必填，将告知提出异议的单位）")] = "",
    score: Annotated[str | None, typer.Option(help="采纳时调整后的得分")] = None,
    indicator: Annotated[int | None, typer.Option(help="未写明指标的异议：归入哪个指标")] = None,
) -> None:
    """处理一项异议：采纳（作为专班核实调整记入结果）或不予采纳，理由以邮件告知该单位。"""
    if uphold == reject:
        raise KaopingError("请二选一：--uphold（予以采纳）或 --reject（不予采纳）。")
    s = ready()
    value = None if score is None else parse_number(score, f"得分“{score}”不是数字。")
    with cycle_session(cycle, s) as (_, session, c):
        decided = objections.decide(session, s, c, objection_id, uphold=uphold, reason=reason, actor=actor_of(s),
                                    score=value, indicator=indicator)
        text = (f"第 {decided.id} 号异议：{ObjectionStatus(decided.status).label}"
                + (f"，指标{decided.indicator_number}由 {decided.previous_score} 调整为 {decided.new_score} 分"
                   if decided.new_score is not None else ""))
        basis = decision_basis(session, CycleContext(session, c), decided, s.tz)
        text += f"。处理依据：{basis.sentence}" + (f"（{basis.attachment_note}）" if basis.attachment_note else "")
        opinion = opinion_lines(session, c, [decided.id]).get(decided.id)
        if opinion:
            text += f"（牵头考核单位意见：{opinion}）"
    out.print(text + "；处理结果邮件待发送（kaoping outbox send）。")


@objections_app.command("held")
@refusals_exit
def objections_held() -> None:
    """列出暂存的异议回复和异议表（发件人不是该单位登记的邮箱）。"""
    from kaoping.cli.common import schema_session

    with schema_session() as (s, session):
        rows = objection_intake.held(session)
        table = Table(show_header=True, header_style="bold", title="暂存的异议回复和异议表")
        for col in ("编号", "周期", "单位", "方式", "发件人", "收到"):
            table.add_column(col)
        for r in rows:
            table.add_row(str(r.id), r.details.get("cycle", ""), r.details.get("unit", ""),
                          "异议表" if r.details.get("part") == "form" else "回复邮件", r.sender, local_time(r.received_at, s.tz))
    out.print(table)
    out.print(f"共 {len(rows)} 份；核实属实的用 `kaoping objections release 编号` 受理（按原收到日期判断是否在异议期内），"
              "不予受理的用 `kaoping objections reject 编号 --reason …`。")


@objections_app.command("release")
@refusals_exit
def objections_release(file_id: Annotated[int, typer.Argument(help="暂存的编号（kaoping objections held）")]) -> None:
    """专班核实后受理一份暂存的异议回复或异议表：登记为该单位的异议，回执发给发件人。"""
    from kaoping.cli.common import schema_session

    with schema_session() as (s, session):
        outcome = objection_intake.release(session, s, file_id, actor=actor_of(s))
    out.print(f"已受理：{outcome.unit} 异议 {'、'.join(f'第 {i} 号' for i in outcome.objection_ids)}。")


@objections_app.command("reject")
@refusals_exit
def objections_reject(
    file_id: Annotated[int, typer.Argument(help="暂存的编号（kaoping objections held）")],
    reason: Annotated[str, typer.Option(help="不予受理的原因（必填，记入审计日志）")] = "",
) -> None:
    """不予受理一份暂存的异议回复或异议表（文件保留，记入审计日志，不通知发件人）。"""
    from kaoping.cli.common import schema_session

    with schema_session() as (s, session):
        record = objection_intake.reject(session, file_id, reason=reason, actor=actor_of(s))
        name = record.filename
    out.print(f"已不予受理暂存的 {name}（编号 {file_id}），原因已记入审计日志；未通知发件人。")
