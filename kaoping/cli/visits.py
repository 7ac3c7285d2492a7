"""`kaoping visits plan|confirm|move`, `kaoping visits teams import|list`, `kaoping opinion import`
and `kaoping thirdparty import|request`: the field visits and the results that come from outside."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from kaoping.adapters.spreadsheets_columns import parse_column_names
from kaoping.cli.common import (
    CycleOpt,
    actor_of,
    cycle_session,
    out,
    parse_day,
    ready,
    refusals_exit,
    schema_session,
)
from kaoping.cli.forms import forms_send
from kaoping.models import Component
from kaoping.records.received import import_file
from kaoping.services.cycles import cycle as cycles
from kaoping.services.surveys.opinion import import_outside_results, parse_scale
from kaoping.services.visits import schedule as visits

visits_app = typer.Typer(help="实地调研 / field visits", no_args_is_help=True)
opinion_app = typer.Typer(help="民意调查 / public opinion", no_args_is_help=True)
thirdparty_app = typer.Typer(help="第三方评估 / third-party evaluation", no_args_is_help=True)

VisitWindow = Annotated[str, typer.Option("--from", help="开始日期，例如 2022-06-20")]
VisitEnd = Annotated[str, typer.Option("--to", help="结束日期，例如 2022-07-01")]
TeamsFile = Annotated[Path | None, typer.Option("--teams", help="调研组文件（YAML）；默认为已导入的调研组名单")]
LengthOpt = Annotated[str | None, typer.Option("--length", help="half（半天，默认）或 whole（全天）")]
UnitsOpt = Annotated[list[str] | None, typer.Option("--unit", help="只安排这些单位（默认全部考评对象）")]


teams_app = typer.Typer(help="实地调研组名单 / the field-visit teams", no_args_is_help=True)
visits_app.add_typer(teams_app, name="teams")


def _visit_plan(session, c, first, last, teams: Path | None, length: str | None, units):
    data = visits.read_teams(teams) if teams else visits.teams_for_cycle(session, [])
    return visits.plan_visits(session, c, start=first, end=last, teams_data=data, units=units or None, length=length)


@teams_app.command("import")
@refusals_exit
def teams_import(file: Annotated[Path, typer.Argument(help="调研组名单（YAML，格式见 kaoping/data/demo/teams.yaml）")]) -> None:
    """导入实地调研组名单（替换此前导入的名单；已开启的周期仍用其开启时的名单）。"""
    s = ready()
    actor = actor_of(s)
    upload, result = import_file(s, file, "visits.teams", lambda session, upload: visits.import_teams(
        session, upload.data, source_name=upload.name, actor=actor))
    if not result.created:
        out.print(f"{upload.name} 与已导入的第 {result.version} 版调研组名单相同，未作改动。")
        return
    out.print(f"已导入调研组名单第 {result.version} 版（{upload.name}）：{len(result.teams)} 个调研组：{'、'.join(result.teams)}。")


@teams_app.command("list")
@refusals_exit
def teams_list() -> None:
    """列出已导入的实地调研组：成员、回避的单位、每天调研次数。"""
    with schema_session() as (_, session):
        current = visits.current_teams(session)
        if current is None:
            out.print(visits.NO_TEAMS)
            raise typer.Exit(1)
        content, version, source = current.content, current.version, current.source_name
    table = Table(show_header=True, header_style="bold", box=box.SIMPLE_HEAD,
                  title=f"实地调研组（第 {version} 版，{source}）")
    for col in ("调研组", "成员", "所在单位 / 回避", "每天最多"):
        table.add_column(col)
    for team in content.get("teams") or []:
        for i, m in enumerate(team.get("members") or []):
            avoid = "、".join(filter(None, [m.get("unit", "")] + list(m.get("conflicts") or [])))
            table.add_row(team.get("name", "") if i == 0 else "", f"{m.get('name', '')} <{m.get('email', '')}>", avoid,
                          str(team.get("max_per_day", content.get("max_per_day", 2))) if i == 0 else "")
    out.print(table)
    blackout = content.get("unit_blackout") or {}
    if blackout:
        out.print("不便接待：" + "；".join(f"{u} {'、'.join(map(str, d))}" for u, d in blackout.items()))


def _print_plan(visit_plan) -> None:
    plan = visit_plan.plan
    table = Table(show_header=True, header_style="bold", box=box.SIMPLE_HEAD, title="实地调研安排")
    for col in ("日期", "时段", "调研组", "被调研单位"):
        table.add_column(col)
    for code, slot in plan.visits.items():
        table.add_row(f"{slot.day:%Y-%m-%d}（{'一二三四五六日'[slot.day.weekday()]}）", slot.part, slot.team, visit_plan.names.get(code, code))
    out.print(table)
    teams, days = plan.load()
    out.print(f"共 {len(plan.visits)} 个单位，{len(visit_plan.problem.days)} 个工作日；各组：" +
              "，".join(f"{t} {n} 次" for t, n in sorted(teams.items())))


@visits_app.command("plan")
@refusals_exit
def visits_plan(cycle: CycleOpt, start: VisitWindow, end: VisitEnd, teams: TeamsFile = None, length: LengthOpt = None,
                unit: UnitsOpt = None) -> None:
    """按工作日排出实地调研安排（只显示，不保存）。"""
    s = ready()
    first, last = parse_day(start, "开始日期"), parse_day(end, "结束日期")
    with cycle_session(cycle, s) as (_, session, c):
        visit_plan = _visit_plan(session, c, first, last, teams, length, unit)
    _print_plan(visit_plan)


@visits_app.command("confirm")
@refusals_exit
def visits_confirm(cycle: CycleOpt, start: VisitWindow, end: VisitEnd, teams: TeamsFile = None, length: LengthOpt = None,
                   unit: UnitsOpt = None,
                   reason: Annotated[str, typer.Option(help="调研早于自评表截止时的理由（记入审计日志并在报告中说明）")] = "",
                   ) -> None:
    """确认实地调研安排：保存，并给调研组成员和被调研单位发日历邀请（.ics）。"""
    s = ready()
    first, last = parse_day(start, "开始日期"), parse_day(end, "结束日期")
    with cycle_session(cycle, s) as (_, session, c):
        note = visits.check_visit_order(session, c, first, reason=reason, actor=actor_of(s))
        if note:
            out.print(note)
        visit_plan = _visit_plan(session, c, first, last, teams, length, unit)
        queued = visits.confirm_visits(session, s, c, visit_plan, actor=actor_of(s))
    _print_plan(visit_plan)
    out.print(f"已确认；{queued} 封日历邀请已放入发件箱（运行 kaoping outbox send 发送）。")


@visits_app.command("move")
@refusals_exit
def visits_move(
    cycle: CycleOpt, unit: Annotated[str, typer.Option(help="被调研单位")],
    day: Annotated[str, typer.Option("--date", help="新日期，例如 2022-06-29")],
    part: Annotated[str | None, typer.Option(help="上午、下午 或 全天（默认不变）")] = None,
    reason: Annotated[str, typer.Option(help="调整原因")] = "",
) -> None:
    """调整一次实地调研的时间，并发送更新后的日历邀请（同一日程，序号递增）。"""
    s = ready()
    when = parse_day(day)
    with cycle_session(cycle, s) as (_, session, c):
        visit = visits.move_visit(session, s, c, unit=unit, day=when, part=part, actor=actor_of(s), reason=reason)
    out.print(f"已调整到 {visit.day:%Y-%m-%d} {visit.part}（{visit.team}），更新的日历邀请已放入发件箱。")


def _outside_import(cycle: str, file: Path, component_name: str, source: str, columns: str | None = None,
                    scale: str | None = None) -> None:
    s = ready()
    component = Component(component_name)
    actor = actor_of(s)

    def service(session, upload):  # a wrong option is refused inside, so that the file is kept either way
        named, rating_scale = parse_column_names(columns), parse_scale(scale)
        c = cycles.get_cycle(session, cycle)
        return import_outside_results(session, c, component, upload, source=source, actor=actor, columns=named,
                                      rating_scale=rating_scale)

    upload, outcome = import_file(s, file, f"{component.value}.import", service, details={"cycle": cycle})
    shape = "逐条答卷，已按计分规则汇总" if outcome.shape == "per_respondent" else "汇总表"
    out.print(outcome.mapping)
    if outcome.shape == "per_respondent":
        skipped = f"；{outcome.not_answered} 份未答单位或满意度题，未计入" if outcome.not_answered else ""
        out.print(f"共 {outcome.rows} 份答卷，{outcome.scale}{skipped}。")
    if not outcome.summary.changed:
        out.print(f"{upload.name}（{shape}）：与已录入的“{source}”结果相同，未作改动。")
    else:
        out.print(f"已录入{component.label}结果“{source}”（{upload.name}，{shape}）：新增 {outcome.summary.created} 个单位，"
                  f"更新 {outcome.summary.replaced} 个。")
    if outcome.flagged:
        out.print(f"注意：样本不足的单位（结果中将注明）：{'、'.join(outcome.flagged)}")
    if outcome.missing:
        out.print(f"注意：以下 {len(outcome.missing)} 个考评对象不在此文件中：{'、'.join(outcome.missing)}")


@opinion_app.command("import")
@refusals_exit
def opinion_import(
    file: Annotated[Path, typer.Argument(help="调查平台导出的 xlsx/csv（问卷星、腾讯问卷等，原样导入）：逐条答卷（单位、满意度）"
                                              "或汇总表（单位、样本数、满意率或得分）")],
    cycle: CycleOpt,
    source: Annotated[str, typer.Option(help="来源名称，如 政府网站调查、12345回访；多个来源按计分规则的权重合并")],
    columns: Annotated[str | None, typer.Option(
        help="表头识别有误时指明各列：unit=…,rating=…（汇总表用 score=… 或 satisfied=…，可加 respondents=…）；"
             "等号右边写表头文字、列字母（G）或第几列（7）")] = None,
    scale: Annotated[str | None, typer.Option(
        help="数字评分的分制，如 1-10 或 0-100（默认：表头注明的分制，否则计分规则的分制）")] = None,
) -> None:
    """导入民意调查结果（调查平台的导出文件按表头含义识别各列）。"""
    _outside_import(cycle, file, "opinion", source, columns, scale)


@thirdparty_app.command("import")
@refusals_exit
def thirdparty_import(
    file: Annotated[Path, typer.Argument(help="第三方评估机构的结果表 xlsx/csv（单位、得分、说明）")],
    cycle: CycleOpt,
    source: Annotated[str, typer.Option(help="来源名称")] = "第三方评估",
) -> None:
    """导入第三方评估机构自己的结果表（不是系统下发的表格时用；系统下发的表格用 kaoping intake）。"""
    _outside_import(cycle, file, "third_party", source)


@thirdparty_app.command("request")
@refusals_exit
def thirdparty_request(
    cycle: CycleOpt,
    deadline: Annotated[str | None, typer.Option(help="报送截止日期，例如 2022-07-10")] = None,
) -> None:
    """向第三方评估机构发送委托邮件，附单位名单和结果表（KAOPING_THIRD_PARTY_EMAIL）。"""
    forms_send(cycle=cycle, kind="third_party", deadline=deadline, unit=None)
