"""`kaoping cycle open|list|reopen` and `kaoping points set|show` (办法三(四))."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kaoping.cli.common import (
    CycleOpt,
    actor_of,
    cycle_session,
    out,
    ready,
    refusals_exit,
    schema_session,
)
from kaoping.domain.clock import local_date
from kaoping.domain.errors import KaopingError
from kaoping.domain.policy import load_policy
from kaoping.domain.scoring import fmt_exact, ranges
from kaoping.models import CycleStatus
from kaoping.services.cycles import cycle as cycles
from kaoping.services.cycles import points as points_service
from kaoping.services.scoring import entry as score_entry

cycle_app = typer.Typer(help="考评周期 / assessment cycles", no_args_is_help=True)
points_app = typer.Typer(help="明确指标分值（办法三(四)） / item points allocation", no_args_is_help=True)


@cycle_app.command("open")
@refusals_exit
def cycle_open(
    code: Annotated[str, typer.Argument(help="考评周期，例如 2022H1")],
    policy: Annotated[Path | None, typer.Option(help="计分规则文件（默认 kaoping/data/policies/default.yaml）")] = None,
    accept_default_responsibilities: Annotated[str, typer.Option(
        help="尚未导入承担清单时：接受默认承担规则（旗县区承担全部指标、市直部门承担其牵头指标）的理由")] = "",
) -> None:
    """开启半年考评周期：冻结指标、名录、承担关系和计分规则。"""
    s = ready()
    path = policy or s.data_dir / "policies" / "default.yaml"
    chosen = load_policy(path)
    with schema_session(s) as (_, session):
        cycle = cycles.open_cycle(session, code=code, policy=chosen, policy_source=path.name, actor=actor_of(s), tz=s.tz,
                                  default_responsibilities_reason=accept_default_responsibilities)
        units = len(cycles.unit_names(session, cycle))
    out.print(
        f"已开启{cycles.cycle_label(cycle)}考评周期 {cycle.code}：{units} 个考评对象，计分规则 {chosen.version}（{path.name}）。"
    )


@cycle_app.command("list")
@refusals_exit
def cycle_list() -> None:
    """列出所有考评周期。"""
    with schema_session() as (s, session):
        rows = cycles.list_cycles(session)
    if not rows:
        out.print("还没有考评周期：用 `kaoping cycle open 2022H1` 开启。")
        return
    for c in rows:
        out.print(f"{c.code}  {CycleStatus(c.status).label}  开启于 {local_date(c.opened_at, s.tz)}")


@cycle_app.command("reopen")
@refusals_exit
def cycle_reopen(
    code: Annotated[str, typer.Argument(help="考评周期")],
    reason: Annotated[str, typer.Option(help="重新开启的原因（记入审计日志）")] = "",
) -> None:
    """核实签字后确需修改分数时，重新开启周期（记入审计日志）。"""
    with cycle_session(code) as (s, session, cycle):
        cycles.reopen(session, cycle, actor=actor_of(s), reason=reason)
    out.print(f"{cycle.code} 已重新开启，可以修改分数；修改完成后须重新核实签字。")


@points_app.command("set")
@refusals_exit
def points_set(
    cycle: CycleOpt,
    allocation: Annotated[list[str], typer.Argument(help="指标编号=分值，例如 54=5 55=5 56=4 57=3 58=3")],
    lead: Annotated[str, typer.Option(help="牵头考核单位（多个单位共同牵头的，各自明确，一致后生效）")] = "",
    by_team: Annotated[bool, typer.Option("--by-team", help="由专班明确（分组内各指标的牵头考核单位不同时，如七(二)）")] = False,
    reason: Annotated[str, typer.Option(help="指标已有评分后更改分值的原因（记入审计日志）")] = "",
) -> None:
    """牵头考核单位明确未标分值指标的分值（须合计等于所在分组或大项的分值）。"""
    s = ready()
    if not lead and not by_team:
        raise KaopingError("请用 --lead 指明明确分值的牵头考核单位；分组内各指标牵头单位不同的，由专班明确（--by-team）。")
    values = score_entry.parse_allocation_args(allocation)
    with cycle_session(cycle, s) as (_, session, c):
        done = score_entry.allocate_points(session, c, lead_written=lead or None, points=values, actor=actor_of(s),
                                           source="命令行", by_team=by_team, reason=reason)
        states = points_service.allocation_states(session, c)
        names = cycles.unit_names(session, c)
    out.print("已明确分值：" + "，".join(f"{n} 号 {v} 分" for n, v in done))
    state = next(st for st in states.values() if done and done[0][0] in st.numbers)
    if state.in_force:
        out.print("分值已生效。")
    elif state.disagree:
        out.print("※ 与共同牵头单位明确的分值不一致，协商一致后生效；此前按默认分值（平均分配）计算。")
    else:
        waiting = "、".join(names.get(d, str(d)) for d in state.waiting_for() if d is not None)
        out.print(f"※ 尚待共同牵头单位 {waiting} 明确相同的分值后生效；此前按默认分值（平均分配）计算。")


@points_app.command("accept-defaults")
@refusals_exit
def points_accept_defaults(
    cycle: CycleOpt,
    reason: Annotated[str, typer.Option(help="按默认分值（平均分配）计算的理由（记入审计日志，并在报告中说明）")] = "",
) -> None:
    """专班确认：尚未明确分值的指标按默认分值（平均分配）计算（办法三(四)；核实签字前须确认）。"""
    with cycle_session(cycle) as (s, session, c):
        numbers = points_service.accept_default_points(session, c, reason=reason, actor=actor_of(s))
    out.print(f"已确认按默认分值计算：指标 {ranges(numbers)}（共 {len(numbers)} 项），理由：{reason.strip()}。通报、报告和反馈函将予以说明。")


@points_app.command("show")
@refusals_exit
def points_show(cycle: CycleOpt) -> None:
    """显示各指标的分值及来源（规定 / 牵头单位明确 / 默认平均分配）。"""
    with cycle_session(cycle) as (_, session, c):
        points = points_service.points_in_force(session, c)
    table = Table(show_header=True, header_style="bold", title=f"{c.code} 未标分值指标的分值")
    for col in ("指标", "分值", "来源", "所在分组/大项"):
        table.add_column(col)
    for p in sorted(points.values(), key=lambda p: p.number):
        if p.basis == "given":
            continue
        table.add_row(str(p.number), fmt_exact(p.points, 4), {"allocated": "牵头考核单位明确", "default": "默认（平均分配）"}[p.basis], p.container or "")
    out.print(table)
