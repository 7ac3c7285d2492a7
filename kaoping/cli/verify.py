"""`kaoping verify …`: verification by the specialist team (专班核实) — confirmations,
adjustments, bonus / deduction / veto lines, and the operator's sign-off shortcut."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from kaoping.cli.common import (
    CycleOpt,
    actor_of,
    cycle_session,
    out,
    parse_number,
    ready,
    refusals_exit,
)
from kaoping.domain.errors import KaopingError
from kaoping.models import AdjustmentKind
from kaoping.services.cycles import cycle as cycles
from kaoping.services.scoring import verification

verify_app = typer.Typer(help="专班核实 / verification by the specialist team", no_args_is_help=True)


@verify_app.command("list")
@refusals_exit
def verify_list(
    cycle: CycleOpt,
    self_scored: Annotated[bool, typer.Option("--self-scored", help="只列牵头考核单位给自己打分的指标")] = False,
    lines: Annotated[bool, typer.Option("--lines", help="列出加分、扣分和一票否决记录")] = False,
) -> None:
    """列出待核实和已核实的指标得分（自评项必须逐项核实）。"""
    with cycle_session(cycle) as (_, session, c):
        if lines:
            rows = verification.lines(session, c)
            names = cycles.unit_names(session, c)
            table = Table(show_header=True, header_style="bold", title=f"{c.code} 加分、扣分和一票否决")
            for col in ("编号", "单位", "类别", "分值", "原因", "佐证", "记录人", "状态"):
                table.add_column(col)
            for a in rows:
                state = f"已撤销（{a.withdraw_reason}）" if a.withdrawn_at else "有效"
                table.add_row(str(a.id), names.get(a.unit_id, ""), AdjustmentKind(a.kind).label,
                              "" if a.points is None else str(a.points), a.reason, a.evidence, a.by, state)
            out.print(table)
            return
        items = verification.item_statuses(session, c, self_scored_only=self_scored)
    table = Table(show_header=True, header_style="bold", title=f"{c.code} 指标得分核实情况" + ("（自评项）" if self_scored else ""))
    for col in ("单位", "指标", "牵头考核单位评分", "自评项", "状态"):
        table.add_column(col)
    shown = 0
    for item in items:
        if not self_scored and item.status in ("未核实",) and not item.self_scored:
            continue  # ordinary items need no verification; list them with --all in a later version
        scores_text = "；".join(f"{lead} {'—' if v is None else v}" for lead, v in item.leads.items())
        table.add_row(item.unit, str(item.indicator), scores_text, "是" if item.self_scored else "", item.status)
        shown += 1
    out.print(table)
    pending = sum(1 for i in items if i.self_scored and i.status in ("待核实", "需重新核实"))
    out.print(f"共 {shown} 项；自评项待核实 {pending} 项。")


@verify_app.command("confirm")
@refusals_exit
def verify_confirm(
    cycle: CycleOpt,
    unit: Annotated[str | None, typer.Option(help="单位")] = None,
    indicator: Annotated[int | None, typer.Option(help="指标编号")] = None,
    all_self_scored: Annotated[bool, typer.Option("--all-self-scored", help="核实所有已评分、待核实的自评项")] = False,
    reason: Annotated[str, typer.Option(help="核实说明")] = "",
) -> None:
    """核实无误：确认牵头考核单位的评分。"""
    if all_self_scored == bool(unit or indicator):
        raise KaopingError("请二选一：--unit 单位 --indicator 编号，或 --all-self-scored。")
    if not all_self_scored and (unit is None or indicator is None):
        raise KaopingError("核实单项需要同时给出 --unit 和 --indicator。")
    with cycle_session(cycle) as (s, session, c):
        if all_self_scored:
            done = verification.confirm_all_self_scored(session, c, actor=actor_of(s), reason=reason)
        else:
            done = [verification.confirm(session, c, unit=unit, indicator=indicator, actor=actor_of(s), reason=reason)]
    for line in done:
        out.print(line)
    out.print(f"共核实 {len(done)} 项。")


@verify_app.command("adjust")
@refusals_exit
def verify_adjust(
    cycle: CycleOpt,
    unit: Annotated[str, typer.Option(help="单位")],
    indicator: Annotated[int, typer.Option(help="指标编号")],
    score: Annotated[str, typer.Option(help="调整后的得分")],
    reason: Annotated[str, typer.Option(help="调整原因（必填）")] = "",
) -> None:
    """核实调整：以专班核定的得分替换该项得分（须说明原因）。"""
    s = ready()
    value = parse_number(score, f"得分“{score}”不是数字。")
    with cycle_session(cycle, s) as (_, session, c):
        out.print(verification.adjust(session, c, unit=unit, indicator=indicator, score=value, reason=reason, actor=actor_of(s)))


def _line(cycle: str, unit: str, kind: str, points: str | None, reason: str, evidence: str) -> None:
    s = ready()
    value = None if points is None else parse_number(points, f"分值“{points}”不是数字。")
    with cycle_session(cycle, s) as (_, session, c):
        line = verification.add_line(session, c, unit=unit, kind=AdjustmentKind(kind), points=value, reason=reason,
                                     evidence=evidence, actor=actor_of(s))
    amount = f" {line.points} 分" if line.points is not None else ""
    out.print(f"已记录{AdjustmentKind(kind).label}{amount}（编号 {line.id}）：{unit}，{reason}")


@verify_app.command("bonus")
@refusals_exit
def verify_bonus(
    cycle: CycleOpt, unit: Annotated[str, typer.Option(help="单位")],
    points: Annotated[str, typer.Option(help="加分分值")], reason: Annotated[str, typer.Option(help="原因（必填）")] = "",
    evidence: Annotated[str, typer.Option(help="佐证材料")] = "",
) -> None:
    """记录加分项（有上限，见计分规则）。"""
    _line(cycle, unit, "bonus", points, reason, evidence)


@verify_app.command("deduct")
@refusals_exit
def verify_deduct(
    cycle: CycleOpt, unit: Annotated[str, typer.Option(help="单位")],
    points: Annotated[str, typer.Option(help="扣分分值（正数）")], reason: Annotated[str, typer.Option(help="原因（必填）")] = "",
    evidence: Annotated[str, typer.Option(help="佐证材料")] = "",
) -> None:
    """记录扣分项（有上限，见计分规则）。"""
    _line(cycle, unit, "deduction", points, reason, evidence)


@verify_app.command("veto")
@refusals_exit
def verify_veto(
    cycle: CycleOpt, unit: Annotated[str, typer.Option(help="单位")],
    reason: Annotated[str, typer.Option(help="原因（必填）")] = "", evidence: Annotated[str, typer.Option(help="佐证材料")] = "",
) -> None:
    """记录一票否决：该单位等次定为最低等次。"""
    _line(cycle, unit, "veto", None, reason, evidence)


@verify_app.command("withdraw")
@refusals_exit
def verify_withdraw(
    cycle: CycleOpt, line: Annotated[int, typer.Option(help="加分/扣分/否决记录编号（verify list --lines）")],
    reason: Annotated[str, typer.Option(help="撤销原因（必填）")] = "",
) -> None:
    """撤销一条加分、扣分或否决记录（保留记录，标记撤销）。"""
    with cycle_session(cycle) as (s, session, c):
        verification.withdraw_line(session, c, line_id=line, reason=reason, actor=actor_of(s), tz=s.tz)
    out.print(f"已撤销第 {line} 条记录。")


@verify_app.command("signoff")
@refusals_exit
def verify_signoff(
    cycle: CycleOpt, note: Annotated[str, typer.Option(help="签字说明")] = "",
) -> None:
    """专班核实签字（运维人员用）：检查全部通过后冻结本周期的分数。"""
    with cycle_session(cycle) as (s, session, c):
        verification.signoff(session, c, actor=actor_of(s), note=note)
    out.print(f"{c.code} 已核实签字，分数已冻结。如需修改须 `kaoping cycle reopen {c.code} --reason 原因`。")
