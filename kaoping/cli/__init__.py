"""The ``kaoping`` command: what operators of the 数字政府专班 type.

Every command reads the one settings object, runs its service in one transaction, and
turns a refusal into a message and a non-zero exit code — never a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich import box
from rich.table import Table

from kaoping import db
from kaoping.adapters.uploads import Upload, read_upload
from kaoping.domain.clock import local_date, local_time
from kaoping.domain.errors import KaopingError
from kaoping.services import audit
from kaoping.services import points as points_service
from kaoping.services.received import keep_received
from kaoping.settings import Settings, get_settings

app = typer.Typer(
    name="kaoping",
    help="kaoping 数字政府建设考评 — half-yearly digital-government assessment, end to end.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="数据库 / database schema", no_args_is_help=True)
catalog_app = typer.Typer(help="考评指标 / indicator catalog", no_args_is_help=True)
units_app = typer.Typer(help="考评对象名录 / unit registry", no_args_is_help=True)
resp_app = typer.Typer(help="承担关系 / who undertakes which indicator", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志 / audit log", no_args_is_help=True)
cycle_app = typer.Typer(help="考评周期 / assessment cycles", no_args_is_help=True)
points_app = typer.Typer(help="明确指标分值（办法三(四)） / item points allocation", no_args_is_help=True)
scores_app = typer.Typer(help="录入分数 / score entry", no_args_is_help=True)
verify_app = typer.Typer(help="专班核实 / verification by the specialist team", no_args_is_help=True)
forms_app = typer.Typer(help="Word 表单 / forms to fill in", no_args_is_help=True)
outbox_app = typer.Typer(help="发件箱 / outgoing email", no_args_is_help=True)
calendar_app = typer.Typer(help="工作日 / Chinese working days", no_args_is_help=True)
reminders_app = typer.Typer(help="催报提醒 / reminders and escalation", no_args_is_help=True)
visits_app = typer.Typer(help="实地调研 / field visits", no_args_is_help=True)
opinion_app = typer.Typer(help="民意调查 / public opinion", no_args_is_help=True)
thirdparty_app = typer.Typer(help="第三方评估 / third-party evaluation", no_args_is_help=True)
signoff_app = typer.Typer(help="签字确认 / sign-offs with emailed one-time codes", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(catalog_app, name="catalog")
app.add_typer(units_app, name="units")
app.add_typer(resp_app, name="responsibilities")
app.add_typer(audit_app, name="audit")
app.add_typer(cycle_app, name="cycle")
app.add_typer(points_app, name="points")
app.add_typer(scores_app, name="scores")
app.add_typer(verify_app, name="verify")
app.add_typer(forms_app, name="forms")
app.add_typer(outbox_app, name="outbox")
app.add_typer(calendar_app, name="calendar")
app.add_typer(reminders_app, name="reminders")
app.add_typer(visits_app, name="visits")
app.add_typer(opinion_app, name="opinion")
app.add_typer(thirdparty_app, name="thirdparty")
app.add_typer(signoff_app, name="signoff")

from kaoping.adapters.console import err, out, print_result_table, print_summary  # noqa: E402


def refusals_exit(func: Callable) -> Callable:
    """Print a refusal for people and exit non-zero (the data is as it was)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except KaopingError as exc:
            err.print(f"[bold red]错误[/bold red]：{exc}", markup=True)
            raise typer.Exit(exc.exit_code) from None
        except ValidationError as exc:
            messages = "；".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in exc.errors())
            err.print(f"[bold red]配置错误[/bold red]：{messages}", markup=True)
            raise typer.Exit(2) from None

    return wrapper


def settings() -> Settings:
    return get_settings()


def actor_of(s: Settings) -> str:
    return s.actor or audit.default_actor()


def require_schema(s: Settings) -> None:
    current, head = db.schema_status(s)
    if current != head:
        hint = "kaoping init" if current is None else "kaoping db upgrade"
        raise KaopingError(
            f"数据库结构不是最新（当前 {current or '未初始化'}，应为 {head}）：请先运行 `{hint}`。"
            f" / The database schema is not up to date; run `{hint}`."
        )


def parse_day(text: str | None, what: str = "日期") -> date | None:
    """A YYYY-MM-DD option, or a refusal that shows the format."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise KaopingError(f"{what}“{text}”格式不对，应为 YYYY-MM-DD，例如 2022-07-10。") from None


def parse_form_kind(kind: str):
    from kaoping.models import FormKind

    try:
        return FormKind(kind)
    except ValueError:
        raise KaopingError(
            f"未知的表单类型 {kind!r}：应为 self_assessment、lead_scoring、field_visit、third_party 或 opinion。"
        ) from None


def import_file(s: Settings, path: Path, purpose: str, service: Callable[..., object]) -> tuple[Upload, object]:
    """Run an import service on a file in one transaction and keep the file either way."""
    upload = read_upload(path)
    try:
        with db.session_scope(s) as session:
            result = service(session, upload)
            changed = getattr(result, "created", None)
            if changed is None:
                changed = getattr(result, "changed", True)
            keep_received(session, s, upload, purpose=purpose, status="accepted" if changed else "unchanged")
        return upload, result
    except KaopingError as exc:
        with db.session_scope(s) as session:
            keep_received(session, s, upload, purpose=purpose, status="refused", reason=str(exc))
        raise


# --------------------------------------------------------------------------- set-up


@app.command()
@refusals_exit
def init(
    empty: Annotated[bool, typer.Option("--empty", help="只建数据库结构，不装入包头名录和 2022 指标")] = False,
) -> None:
    """初始化：建立数据库结构，装入包头市考评对象名录与 2022 年考评指标（可重复运行）。"""
    s = settings()
    lines = initialize(s, empty=empty)
    for line in lines:
        out.print(line)


def initialize(s: Settings, *, empty: bool = False) -> list[str]:
    from kaoping.services import catalog as catalog_service
    from kaoping.services import registry

    db.upgrade(s)
    lines = [f"数据库结构已是最新：{db.schema_status(s)[1]}（{_safe_url(s)}）"]
    if empty:
        return lines
    actor = actor_of(s)
    with db.session_scope(s) as session:
        has_units = bool(registry.list_units(session))
    if has_units:
        lines.append("考评对象名录已存在，未改动（修改名录请用 `kaoping units import`）。")
    else:
        _, summary = import_file(
            s, s.data_dir / "registry" / "baotou.yaml", "units",
            lambda session, upload: registry.import_registry(session, upload, actor=actor),
        )
        lines.append(f"已装入包头市考评对象名录：{len(summary.created)} 个单位。")
    for path in sorted((s.data_dir / "catalogs").glob("*.json")):
        year = int(path.stem)
        with db.session_scope(s) as session:
            exists = catalog_service.current_catalog(session, year) is not None
        if exists:
            lines.append(f"{year} 年考评指标已存在，未改动。")
            continue
        _, result = import_file(
            s, path, "catalog", lambda session, upload: catalog_service.import_catalog(session, upload, year=year, actor=actor)
        )
        lines.append(f"已装入 {year} 年考评指标：{len(result.export['indicators'])} 项。")
    return lines


def _safe_url(s: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(s.effective_database_url).render_as_string(hide_password=True)


@db_app.command("upgrade")
@refusals_exit
def db_upgrade() -> None:
    """把数据库结构升级到最新版本（Alembic 迁移）。"""
    s = settings()
    db.upgrade(s)
    out.print(f"数据库结构已升级到 {db.schema_status(s)[1]}（{_safe_url(s)}）。")


@db_app.command("status")
@refusals_exit
def db_status() -> None:
    """显示数据库结构版本。"""
    s = settings()
    current, head = db.schema_status(s)
    out.print(f"数据库 {_safe_url(s)}：当前 {current or '未初始化'}，最新 {head}。")
    if current != head:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- catalog


@catalog_app.command("import")
@refusals_exit
def catalog_import(
    file: Annotated[Path, typer.Argument(help="考评指标附件：.docx、.txt，或 kaoping 导出的 .json/.yaml")],
    year: Annotated[int, typer.Option(help="指标所属年度，例如 2022")],
) -> None:
    """导入某年度的考评指标（检查分值、编号、牵头考核单位后整体导入）。"""
    from kaoping.services import catalog as catalog_service

    s = settings()
    require_schema(s)
    actor = actor_of(s)
    _, result = import_file(
        s, file, "catalog", lambda session, upload: catalog_service.import_catalog(session, upload, year=year, actor=actor)
    )
    if not result.created:
        out.print(f"{year} 年考评指标与已导入的第 {result.catalog.version} 版完全相同，未作改动。")
        return
    out.print(f"已导入 {year} 年考评指标（第 {result.catalog.version} 版）：")
    with db.session_scope(s) as session:
        print_summary(catalog_service.summarize(session, year))


@catalog_app.command("export")
@refusals_exit
def catalog_export(
    year: Annotated[int, typer.Option(help="年度")],
    format: Annotated[str, typer.Option("--format", help="json 或 yaml")] = "json",
    output: Annotated[Path | None, typer.Option("--out", help="写入文件（默认输出到屏幕）")] = None,
) -> None:
    """导出某年度的考评指标（JSON 或 YAML）。"""
    from kaoping.services import catalog as catalog_service

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        text = catalog_service.dump_export(catalog_service.export_catalog(session, year), format)
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"已写入 {output}")
    else:
        sys.stdout.write(text)


@catalog_app.command("show")
@refusals_exit
def catalog_show(year: Annotated[int, typer.Option(help="年度")]) -> None:
    """显示某年度考评指标概要：大项分值、指标数、各牵头考核单位的指标数。"""
    from kaoping.services import catalog as catalog_service

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        print_summary(catalog_service.summarize(session, year))


# --------------------------------------------------------------------------- units


@units_app.command("import")
@refusals_exit
def units_import(file: Annotated[Path, typer.Argument(help="名录文件：.yaml 或 .csv")]) -> None:
    """导入或更新考评对象名录（按单位代码新增或更新；文件中没有的单位保持不变）。"""
    from kaoping.services import registry

    s = settings()
    require_schema(s)
    actor = actor_of(s)
    _, summary = import_file(s, file, "units", lambda session, upload: registry.import_registry(session, upload, actor=actor))
    if not summary.changed:
        out.print(f"名录未变化（{len(summary.unchanged)} 个单位与现有记录相同）。")
        return
    out.print(
        f"已导入：新增 {len(summary.created)} 个，更新 {len(summary.updated)} 个，未变 {len(summary.unchanged)} 个。"
    )
    for label, names in (("新增", summary.created), ("更新", summary.updated)):
        if names:
            out.print(f"  {label}：{'、'.join(names)}")


@units_app.command("list")
@refusals_exit
def units_list(
    group: Annotated[str | None, typer.Option(help="district（旗县区）或 department（部门）")] = None,
) -> None:
    """列出考评对象。"""
    from kaoping.models import Contact, UnitAlias, UnitGroup
    from kaoping.services import registry

    s = settings()
    require_schema(s)
    chosen = None
    if group:
        chosen = registry.GROUP_WORDS.get(group)
        if chosen is None:
            raise KaopingError(f"分组“{group}”无效：请用 district（旗县区）或 department（部门）。")
    from sqlmodel import select

    with db.session_scope(s) as session:
        units = registry.list_units(session, chosen)
        aliases = session.exec(select(UnitAlias)).all()
        contacts = session.exec(select(Contact)).all()
    table = Table(show_header=True, header_style="bold", title=f"考评对象名录（{len(units)} 个）")
    for col in ("代码", "简称", "全称", "分组", "别名", "联络员邮箱"):
        table.add_column(col)
    for u in units:
        table.add_row(
            u.code, u.short_name, u.name, UnitGroup(u.group).label,
            "、".join(a.alias for a in aliases if a.unit_id == u.id),
            "、".join(c.email for c in contacts if c.unit_id == u.id and c.role == "liaison"),
        )
    out.print(table)


# --------------------------------------------------------------------------- responsibilities


@resp_app.command("import")
@refusals_exit
def responsibilities_import(
    file: Annotated[Path, typer.Argument(help="CSV 文件，两列：单位,指标")],
    year: Annotated[int, typer.Option(help="年度")],
) -> None:
    """导入某年度的承担关系（哪个单位承担哪项指标），替换默认规则。"""
    from kaoping.services import responsibilities

    s = settings()
    require_schema(s)
    actor = actor_of(s)
    _, result = import_file(
        s, file, "responsibilities",
        lambda session, upload: responsibilities.import_responsibilities(session, upload, year=year, actor=actor),
    )
    if not result.created:
        out.print(f"{year} 年承担关系与已导入的第 {result.version} 版相同，未作改动。")
        return
    out.print(f"已导入 {year} 年承担关系（第 {result.version} 版）：{result.units} 个单位，共 {result.pairs} 项。")


@resp_app.command("show")
@refusals_exit
def responsibilities_show(year: Annotated[int, typer.Option(help="年度")]) -> None:
    """显示某年度各单位承担的指标数，以及来源（导入文件或默认规则）。"""
    from collections import Counter

    from kaoping.services import registry, responsibilities

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        view = responsibilities.responsibilities_for(session, year)
        units = registry.list_units(session)
    per_unit = Counter(u for u, _ in view.pairs)
    source = "默认规则（旗县区承担全部指标，部门承担其牵头的指标）" if view.is_default else f"导入：{view.source}"
    table = Table(show_header=True, header_style="bold", title=f"{year} 年承担关系 — {source}")
    table.add_column("单位")
    table.add_column("承担指标数", justify="right")
    for u in units:
        table.add_row(u.short_name, str(per_unit.get(u.id, 0)))
    out.print(table)
    out.print(f"共 {len(view.pairs)} 项（单位 × 指标）。")


# --------------------------------------------------------------------------- audit


@audit_app.command("verify")
@refusals_exit
def audit_verify() -> None:
    """校验审计日志是否被改动、插入或删除（逐条核对链式签名）。"""
    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        report = audit.verify_chain(session, s.secret_key.get_secret_value().encode(), tz=s.tz)
    if report.ok:
        out.print(f"审计日志完整：共 {report.entries} 条，末条 #{report.head_seq}，末条签名 {report.head_hash[:16]}…")
        return
    err.print(f"[bold red]审计日志被改动[/bold red]：{report.problem}", markup=True)
    err.print(f"此前的 {max(report.entries - 1, 0)} 条记录完好（至 #{report.head_seq}）。")
    raise typer.Exit(5)


@audit_app.command("log")
@refusals_exit
def audit_log(limit: Annotated[int, typer.Option(help="显示最近多少条")] = 20) -> None:
    """显示最近的审计日志。"""
    from sqlmodel import select

    from kaoping.models import AuditEntry

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        rows = session.exec(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)).all()
    table = Table(show_header=True, header_style="bold")
    for col in ("#", "时间", "操作人", "操作", "对象", "原因"):
        table.add_column(col)
    for e in reversed(rows):
        when = local_time(e.at, s.tz, seconds=True)
        table.add_row(str(e.seq), when, e.actor, e.action, e.entity, e.reason)
    out.print(table)


# --------------------------------------------------------------------------- cycles

CycleOpt = Annotated[str, typer.Option("--cycle", help="考评周期，例如 2022H1")]


@cycle_app.command("open")
@refusals_exit
def cycle_open(
    code: Annotated[str, typer.Argument(help="考评周期，例如 2022H1")],
    policy: Annotated[Path | None, typer.Option(help="计分规则文件（默认 data/policies/default.yaml）")] = None,
) -> None:
    """开启半年考评周期：冻结指标、名录、承担关系和计分规则。"""
    from kaoping.domain.policy import load_policy
    from kaoping.services import cycles

    s = settings()
    require_schema(s)
    path = policy or s.data_dir / "policies" / "default.yaml"
    chosen = load_policy(path)
    with db.session_scope(s) as session:
        cycle = cycles.open_cycle(session, code=code, policy=chosen, policy_source=path.name, actor=actor_of(s), tz=s.tz)
        units = len(session.exec(select_cycle_units(cycle.id)).all())
    out.print(
        f"已开启{cycles.cycle_label(cycle)}考评周期 {cycle.code}：{units} 个考评对象，计分规则 {chosen.version}（{path.name}）。"
    )


def select_cycle_units(cycle_id: int):
    from sqlmodel import select

    from kaoping.models import CycleUnit

    return select(CycleUnit).where(CycleUnit.cycle_id == cycle_id)


@cycle_app.command("list")
@refusals_exit
def cycle_list() -> None:
    """列出所有考评周期。"""
    from sqlmodel import select

    from kaoping.models import Cycle, CycleStatus

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        rows = session.exec(select(Cycle).order_by(Cycle.year, Cycle.half)).all()
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
    from kaoping.services import cycles

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        cycle = cycles.get_cycle(session, code)
        cycles.reopen(session, cycle, actor=actor_of(s), reason=reason)
    out.print(f"{cycle.code} 已重新开启，可以修改分数；修改完成后须重新核实签字。")


# --------------------------------------------------------------------------- points


@points_app.command("set")
@refusals_exit
def points_set(
    cycle: CycleOpt,
    lead: Annotated[str, typer.Option(help="牵头考核单位")],
    allocation: Annotated[list[str], typer.Argument(help="指标编号=分值，例如 54=5 55=5 56=4 57=3 58=3")],
) -> None:
    """牵头考核单位明确未标分值指标的分值（须合计等于所在分组或大项的分值）。"""
    from kaoping.services import cycles, score_entry

    s = settings()
    require_schema(s)
    values = score_entry.parse_allocation_args(allocation)
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
        done = score_entry.allocate_points(session, c, lead_written=lead, points=values, actor=actor_of(s), source="命令行")
    out.print("已明确分值：" + "，".join(f"{n} 号 {v} 分" for n, v in done))


@points_app.command("show")
@refusals_exit
def points_show(cycle: CycleOpt) -> None:
    """显示各指标的分值及来源（规定 / 牵头单位明确 / 默认平均分配）。"""
    from kaoping.domain.scoring import fmt_exact
    from kaoping.services import cycles

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
        points = points_service.points_in_force(session, c)
    table = Table(show_header=True, header_style="bold", title=f"{c.code} 未标分值指标的分值")
    for col in ("指标", "分值", "来源", "所在分组/大项"):
        table.add_column(col)
    for p in sorted(points.values(), key=lambda p: p.number):
        if p.basis == "given":
            continue
        table.add_row(str(p.number), fmt_exact(p.points, 4), {"allocated": "牵头考核单位明确", "default": "默认（平均分配）"}[p.basis], p.container or "")
    out.print(table)


# --------------------------------------------------------------------------- scores


@scores_app.command("import")
@refusals_exit
def scores_import(
    file: Annotated[Path, typer.Argument(help="CSV 或 XLSX 文件")],
    cycle: CycleOpt,
    component: Annotated[str, typer.Option(help="monitoring（日常监测）| field（实地调研）| opinion（民意调查）| third_party（第三方评估）")],
    source: Annotated[str | None, typer.Option(help="来源名称（同一来源再次导入将替换其之前的分数）")] = None,
) -> None:
    """导入分数。日常监测表头：单位,指标,牵头考核单位,得分,说明；其他：单位,得分,说明。"""
    from kaoping.models import Component
    from kaoping.services import cycles, score_entry

    s = settings()
    require_schema(s)
    try:
        chosen = Component(component)
    except ValueError:
        raise KaopingError(f"未知的考评方式 {component!r}：应为 monitoring、field、opinion 或 third_party。") from None
    actor = actor_of(s)

    def service(session, upload):
        c = cycles.get_cycle(session, cycle)
        return score_entry.import_score_file(session, c, chosen, upload, actor=actor, source=source)

    upload, outcome = import_file(s, file, f"scores.{chosen.value}", service)
    summary = outcome.summary
    if not summary.changed:
        out.print(f"{upload.name}：{outcome.rows} 行分数与已录入的完全相同，未作改动。")
    else:
        out.print(
            f"已录入{chosen.label}分数（{upload.name}）：新增 {summary.created} 项，替换 {summary.replaced} 项，"
            f"未变 {summary.unchanged} 项。被替换的旧分数保留在历史记录中。"
        )
    if outcome.missing:
        out.print(f"注意：以下 {len(outcome.missing)} 个考评对象不在此文件中：{'、'.join(outcome.missing)}")


# --------------------------------------------------------------------------- verification


@verify_app.command("list")
@refusals_exit
def verify_list(
    cycle: CycleOpt,
    self_scored: Annotated[bool, typer.Option("--self-scored", help="只列牵头考核单位给自己打分的指标")] = False,
    lines: Annotated[bool, typer.Option("--lines", help="列出加分、扣分和一票否决记录")] = False,
) -> None:
    """列出待核实和已核实的指标得分（自评项必须逐项核实）。"""
    from sqlmodel import select

    from kaoping.models import Adjustment, AdjustmentKind
    from kaoping.services import cycles, verification

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
        if lines:
            rows = session.exec(select(Adjustment).where(Adjustment.cycle_id == c.id).order_by(Adjustment.id)).all()
            names = {u.unit_id: u.short_name for u in session.exec(select_cycle_units(c.id))}
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
    from kaoping.services import cycles, verification

    if all_self_scored == bool(unit or indicator):
        raise KaopingError("请二选一：--unit 单位 --indicator 编号，或 --all-self-scored。")
    if not all_self_scored and (unit is None or indicator is None):
        raise KaopingError("核实单项需要同时给出 --unit 和 --indicator。")
    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
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
    from kaoping.adapters.spreadsheets import parse_score
    from kaoping.services import cycles, verification

    s = settings()
    require_schema(s)
    try:
        value = parse_score(score)
    except ValueError:
        raise KaopingError(f"得分“{score}”不是数字。") from None
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
        out.print(verification.adjust(session, c, unit=unit, indicator=indicator, score=value, reason=reason, actor=actor_of(s)))


def _line(cycle: str, unit: str, kind: str, points: str | None, reason: str, evidence: str) -> None:
    from kaoping.adapters.spreadsheets import parse_score
    from kaoping.models import AdjustmentKind
    from kaoping.services import cycles, verification

    s = settings()
    require_schema(s)
    value = None
    if points is not None:
        try:
            value = parse_score(points)
        except ValueError:
            raise KaopingError(f"分值“{points}”不是数字。") from None
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
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
    from kaoping.services import cycles, verification

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
        verification.withdraw_line(session, c, line_id=line, reason=reason, actor=actor_of(s), tz=s.tz)
    out.print(f"已撤销第 {line} 条记录。")


@verify_app.command("signoff")
@refusals_exit
def verify_signoff(
    cycle: CycleOpt, note: Annotated[str, typer.Option(help="签字说明")] = "",
) -> None:
    """专班核实签字（运维人员用）：检查全部通过后冻结本周期的分数。"""
    from kaoping.services import cycles, verification

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
        verification.signoff(session, c, actor=actor_of(s), note=note)
    out.print(f"{c.code} 已核实签字，分数已冻结。如需修改须 `kaoping cycle reopen {c.code} --reason 原因`。")


# --------------------------------------------------------------------------- results


@app.command()
@refusals_exit
def check(cycle: CycleOpt) -> None:
    """计算前检查：缺少的评分、超出范围的得分、未核实的自评项、缺少的考评部分，一次列全。"""
    from kaoping.services import cycles, results

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
        problems = results.problems_of(session, c)
    if not problems:
        out.print(f"{c.code} 检查通过，可以计算结果。")
        return
    err.print(f"{c.code} 有 {len(problems)} 个问题：")
    for i, p in enumerate(problems, 1):
        err.print(f"  {i}. {p}")
    raise typer.Exit(1)


FormatOpt = Annotated[str, typer.Option("--format", help="table | json | csv | xlsx")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="输出文件（xlsx 必填）")]


@app.command("results")
@refusals_exit
def results_command(cycle: CycleOpt, format: FormatOpt = "table", output: OutOpt = None) -> None:
    """计算并显示半年考评结果：各大项、各部分、总分、组内排名、等次。"""
    from kaoping.services import cycles, results

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
        inputs, computed = results.compute_cycle(session, c)
        rows = results.result_rows(inputs, computed)
        title = f"{cycles.cycle_label(c)}数字政府建设考评结果"
    text = results.render(rows, format, output, title=title)
    if format == "table":
        print_result_table(rows, title)
    elif text is not None:
        sys.stdout.write(text)
    else:
        err.print(f"已写入 {output}")


@app.command("annual")
@refusals_exit
def annual_command(
    year: Annotated[int, typer.Argument(help="年度")], format: FormatOpt = "table", output: OutOpt = None,
) -> None:
    """年度考评分值 =（上半年 + 下半年）/ 2，组内排名与等次。"""
    from kaoping.services import results

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        computed, places = results.annual(session, year)
    rows = results.annual_rows(computed, places)
    title = f"{year}年度数字政府建设考评结果"
    text = results.render(rows, format, output, title=title)
    if format == "table":
        print_result_table(rows, title)
    elif text is not None:
        sys.stdout.write(text)
    else:
        err.print(f"已写入 {output}")


@app.command()
@refusals_exit
def explain(cycle: CycleOpt, unit: Annotated[str, typer.Option(help="单位")]) -> None:
    """逐层说明一个单位的总分：各部分 → 各大项 → 各指标 → 牵头考核单位评分 → 核实与加减分。"""
    from kaoping.services import cycles, results

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
        lines = results.explain(session, c, unit, tz=s.tz)
    for line in lines:
        out.print(line)


# --------------------------------------------------------------------------- forms and intake


@forms_app.command("build")
@refusals_exit
def forms_build(
    cycle: CycleOpt,
    kind: Annotated[str, typer.Option(help="self_assessment | lead_scoring | field_visit | third_party | opinion")],
    out_dir: Annotated[Path, typer.Option("--out", help="输出目录")],
    deadline: Annotated[str | None, typer.Option(help="报送截止日期，例如 2022-07-10（默认今天起 15 天）")] = None,
    unit: Annotated[list[str] | None, typer.Option("--unit", help="只生成这些单位的表（代码或名称，可重复）")] = None,
) -> None:
    """生成 Word 表单（不发送）：自评表、评分表、实地调研记录表、第三方评估和民意调查结果表。"""
    from kaoping.services import cycles
    from kaoping.services.forms import build_forms
    from kaoping.services.registry import UnitDirectory

    s = settings()
    require_schema(s)
    chosen = parse_form_kind(kind)
    due = parse_day(deadline, "截止日期")
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
        codes = None
        if unit:
            directory = UnitDirectory.load(session)
            codes = [directory.resolve(u).code for u in unit]
        built = build_forms(session, s, c, chosen, out_dir=out_dir, deadline=due, units=codes, actor=actor_of(s))
    new = sum(1 for b in built if b.created)
    err.print(f"已生成 {len(built)} 份{chosen.label}（新编号或新版本 {new} 份），保存在 {out_dir}/：")
    for b in built:
        out.print(f"  {b.form.form_no} 第 {b.form.version} 版  {b.subject_label}  {b.path.name}")


@forms_app.command("send")
@refusals_exit
def forms_send(
    cycle: CycleOpt,
    kind: Annotated[str, typer.Option(help="self_assessment | lead_scoring | field_visit | third_party | opinion")],
    deadline: Annotated[str | None, typer.Option(help="报送截止日期，例如 2022-07-10（默认今天起 15 天）")] = None,
    unit: Annotated[list[str] | None, typer.Option("--unit", help="只发这些单位（可重复）")] = None,
) -> None:
    """生成表单并放入发件箱：每个收件人一封，附上 Word 表（再运行 kaoping outbox send 发送）。"""
    from kaoping.services import cycles
    from kaoping.services.forms import build_forms
    from kaoping.services.messages import form_recipients, queue_form
    from kaoping.services.registry import UnitDirectory

    s = settings()
    require_schema(s)
    chosen = parse_form_kind(kind)
    due = parse_day(deadline, "截止日期")
    queued = 0
    missing = []
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
        codes = [UnitDirectory.load(session).resolve(u).code for u in unit] if unit else None
        built = build_forms(session, s, c, chosen, deadline=due, units=codes, actor=actor_of(s))
        for b in built:
            recipients = form_recipients(session, s, c, b)
            if not recipients:
                missing.append(b.subject_label)
                continue
            queued += queue_form(session, s, c, b, recipients=recipients)
    out.print(f"已将 {len(built)} 份{chosen.label}放入发件箱：新邮件 {queued} 封（已放入过的不重复）。运行 `kaoping outbox send` 发送。")
    if missing:
        err.print(f"以下单位没有联络员邮箱，未能发送：{'、'.join(missing)}（请用 kaoping units import 补充）")
        raise typer.Exit(1)


@app.command("intake")
@refusals_exit
def intake_command(
    files: Annotated[list[Path], typer.Argument(help="收回的 Word 文件（可多个）")],
    sender: Annotated[str, typer.Option(help="发件人邮箱（用于核对是否本单位报送）")] = "",
    cycle: Annotated[str | None, typer.Option("--cycle", help="只接收此考评周期的表格")] = None,
) -> None:
    """回收表格：识别签名标识，检查并录入；每个收到的文件都会保存，拒收的说明原因。"""
    from kaoping.services.intake import receive

    s = settings()
    require_schema(s)
    refused = 0
    for path in files:
        try:
            upload = read_upload(path)
        except KaopingError as exc:  # nothing readable to keep
            err.print(f"[red]已拒收[/red] {path.name}：{exc}", markup=True)
            refused += 1
            continue
        outcome = receive(s, upload, sender=sender, expected_cycle=cycle, actor=actor_of(s))
        if outcome.accepted:
            flag = "（逾期）" if outcome.result.late else ""
            out.print(f"[green]已接收[/green] {path.name}：{outcome.result.form_no} {outcome.result.subject_label}{flag} — {outcome.result.summary}", markup=True)
        else:
            refused += 1
            err.print(f"[red]已拒收[/red] {path.name}：{outcome.reason}", markup=True)
    if refused:
        raise typer.Exit(2)


@app.command("report")
@refusals_exit
def report_command(
    cycle: CycleOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="输出目录")],
    number: Annotated[int | None, typer.Option(help="发文字号的序号（默认按年度顺延）")] = None,
    signed: Annotated[str | None, typer.Option("--date", help="成文日期，例如 2022-07-15（默认今天）")] = None,
) -> None:
    """生成公文格式的通报、报告、各单位反馈函和实绩考核结果表（Word / Excel）。"""
    from kaoping.services import cycles
    from kaoping.services.reports import build_reports

    s = settings()
    require_schema(s)
    when = parse_day(signed, "成文日期")
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
        built = build_reports(session, s, c, out_dir, number=number, signed=when or datetime.now(s.tz).date(),
                              actor=actor_of(s))
    out.print(f"已生成（发文字号 {built.number}）：")
    out.print(f"  通报：{built.tongbao}")
    out.print(f"  报告：{built.baogao}")
    out.print(f"  反馈函：{len(built.letters)} 份，在 {built.letters[0].parent}/")
    out.print(f"  实绩考核结果表：{built.workbook}")


# --------------------------------------------------------------------------- outbox


@outbox_app.command("send")
@refusals_exit
def outbox_send(limit: Annotated[int | None, typer.Option(help="最多发送多少封")] = None) -> None:
    """发送发件箱中待发送的邮件（一个连接发送一批；暂时失败的自动重试）。"""
    from kaoping.adapters.mail.smtp import send_pending

    s = settings()
    require_schema(s)
    report = send_pending(s, limit=limit)
    out.print(f"已发送 {len(report.sent)} 封；失败 {len(report.failed)} 封；暂未送达（下次再试）{len(report.deferred)} 封。")
    for message_id, words in report.failed:
        err.print(f"  #{message_id} 发送失败：{words}")
    for message_id, words in report.deferred:
        err.print(f"  #{message_id} 暂未送达：{words}")
    if report.failed or report.deferred:
        raise typer.Exit(1)


@outbox_app.command("list")
@refusals_exit
def outbox_list(
    failed: Annotated[bool, typer.Option("--failed", help="只列发送失败的")] = False,
    limit: Annotated[int, typer.Option(help="最多列出多少封")] = 50,
) -> None:
    """列出发件箱中的邮件。"""
    from sqlmodel import select

    from kaoping.models import MessageStatus, OutboxMessage

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
        if failed:
            query = query.where(OutboxMessage.status == MessageStatus.failed)
        rows = session.exec(query).all()
    table = Table(show_header=True, header_style="bold", box=box.SIMPLE_HEAD)
    for col in ("#", "状态", "类型", "收件人", "主题", "尝试", "说明"):
        table.add_column(col)
    for m in reversed(rows):
        table.add_row(str(m.id), MessageStatus(m.status).label, m.kind, "、".join(m.to), m.subject, str(m.attempts), m.last_error)
    out.print(table)


@outbox_app.command("retry")
@refusals_exit
def outbox_retry(message: Annotated[list[int] | None, typer.Option("--id", help="只重试这些编号")] = None) -> None:
    """把发送失败的邮件放回待发送（再运行 kaoping outbox send 发送）。"""
    from kaoping.adapters.mail.smtp import retry_failed

    s = settings()
    require_schema(s)
    n = retry_failed(s, message or None)
    out.print(f"已将 {n} 封失败的邮件放回待发送。")


# --------------------------------------------------------------------------- calendar and reminders


@calendar_app.command("check")
@refusals_exit
def calendar_check(year: Annotated[int, typer.Argument(help="年份")]) -> None:
    """检查某年的工作日数据：节假日、调休上班日，以及数据来源。"""
    from kaoping.services.workdays import check_year

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        result = check_year(session, year)
    if result.covered:
        out.print(f"{year} 年：使用 chinese-calendar 的国务院节假日安排，另有覆盖表 {result.overrides} 条。")
    else:
        err.print(
            f"[bold yellow]注意[/bold yellow]：chinese-calendar 尚无 {year} 年的节假日安排。"
            f"目前按覆盖表（{result.overrides} 条）和周末规则计算工作日，节假日和调休未计入。"
            "国务院办公厅公布安排后，请升级 chinese-calendar，或用 `kaoping calendar set` 逐日录入。", markup=True)
    out.print(f"工作日 {result.workdays} 天；工作日中的节假日 {len(result.holidays)} 天；周末调休上班 {len(result.makeup_days)} 天。")
    if result.makeup_days:
        out.print("调休上班：" + "、".join(f"{d:%m-%d}" for d in result.makeup_days))
    if not result.covered:
        raise typer.Exit(1)


@calendar_app.command("set")
@refusals_exit
def calendar_set(
    day: Annotated[str, typer.Argument(help="日期，例如 2027-02-06")],
    workday: Annotated[bool, typer.Option("--workday/--holiday", help="上班（--workday）或放假（--holiday）")],
    note: Annotated[str, typer.Option(help="说明，例如 春节调休")] = "",
) -> None:
    """在覆盖表中设定某天上班或放假（优先于 chinese-calendar）。"""
    from sqlmodel import select

    from kaoping.models import CalendarOverride

    s = settings()
    require_schema(s)
    when = parse_day(day)
    with db.session_scope(s) as session:
        row = session.exec(select(CalendarOverride).where(CalendarOverride.day == when)).first()
        before = None if row is None else {"workday": row.workday, "note": row.note}
        row = row or CalendarOverride(day=when, workday=workday)
        row.workday, row.note, row.set_by = workday, note, actor_of(s)
        session.add(row)
        session.flush()
        audit.append(session, actor=actor_of(s), action="calendar.set", entity=f"day:{when}", before=before,
                     after={"workday": workday, "note": note}, reason=note or "覆盖工作日安排")
    out.print(f"已设定 {when}：{'上班' if workday else '放假'}{('（' + note + '）') if note else ''}。")


@reminders_app.command("run")
@refusals_exit
def reminders_run(today: Annotated[str | None, typer.Option(help="按这一天计算（默认今天），例如 2022-07-06")] = None) -> None:
    """按催报规则把今天该发的提醒、逾期通知和督办放入发件箱（每单位每天最多一封）。"""
    from kaoping.services.reminders import run_reminders

    s = settings()
    require_schema(s)
    when = parse_day(today) or datetime.now(s.tz).date()
    with db.session_scope(s) as session:
        run = run_reminders(session, s, today=when)
    if not run.workday:
        out.print(f"{when} 不是工作日，不发提醒。")
        return
    out.print(f"{when}：提醒 {len(run.reminders)} 个单位，逾期通知 {len(run.overdue)} 个，督办 {len(run.escalations)} 个；"
              f"新放入发件箱 {run.queued} 封。")
    for label, names in (("提醒", run.reminders), ("逾期", run.overdue), ("督办", run.escalations)):
        if names:
            out.print(f"  {label}：{'、'.join(names)}")


# --------------------------------------------------------------------------- field visits


def _visit_plan(s: Settings, session, cycle: str, start: str, end: str, teams: Path, length: str | None, units):
    from kaoping.services import cycles, visits

    first, last = parse_day(start, "开始日期"), parse_day(end, "结束日期")
    c = cycles.get_cycle(session, cycle)
    return c, visits.plan_visits(session, c, start=first, end=last, teams_data=visits.read_teams(teams),
                                 units=units or None, length=length)


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


VisitWindow = Annotated[str, typer.Option("--from", help="开始日期，例如 2022-06-20")]
VisitEnd = Annotated[str, typer.Option("--to", help="结束日期，例如 2022-07-01")]
TeamsFile = Annotated[Path, typer.Option("--teams", help="调研组文件（YAML）")]
LengthOpt = Annotated[str | None, typer.Option("--length", help="half（半天，默认）或 whole（全天）")]
UnitsOpt = Annotated[list[str] | None, typer.Option("--unit", help="只安排这些单位（默认全部考评对象）")]


@visits_app.command("plan")
@refusals_exit
def visits_plan(cycle: CycleOpt, start: VisitWindow, end: VisitEnd, teams: TeamsFile, length: LengthOpt = None,
                unit: UnitsOpt = None) -> None:
    """按工作日排出实地调研安排（只显示，不保存）。"""
    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        _, visit_plan = _visit_plan(s, session, cycle, start, end, teams, length, unit)
    _print_plan(visit_plan)


@visits_app.command("confirm")
@refusals_exit
def visits_confirm(cycle: CycleOpt, start: VisitWindow, end: VisitEnd, teams: TeamsFile, length: LengthOpt = None,
                   unit: UnitsOpt = None) -> None:
    """确认实地调研安排：保存，并给调研组成员和被调研单位发日历邀请（.ics）。"""
    from kaoping.services import visits

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        c, visit_plan = _visit_plan(s, session, cycle, start, end, teams, length, unit)
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
    from kaoping.services import cycles, visits

    s = settings()
    require_schema(s)
    when = parse_day(day)
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
        visit = visits.move_visit(session, s, c, unit=unit, day=when, part=part, actor=actor_of(s), reason=reason)
    out.print(f"已调整到 {visit.day:%Y-%m-%d} {visit.part}（{visit.team}），更新的日历邀请已放入发件箱。")


# --------------------------------------------------------------------------- opinion and third party


def _outside_import(cycle: str, file: Path, component_name: str, source: str) -> None:
    from kaoping.models import Component
    from kaoping.services import cycles
    from kaoping.services.opinion import import_outside_results

    s = settings()
    require_schema(s)
    component = Component(component_name)
    actor = actor_of(s)

    def service(session, upload):
        c = cycles.get_cycle(session, cycle)
        return import_outside_results(session, c, component, upload, source=source, actor=actor)

    upload, outcome = import_file(s, file, f"{component.value}.import", service)
    shape = "逐条答卷，已按计分规则汇总" if outcome.shape == "per_respondent" else "汇总表"
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
    file: Annotated[Path, typer.Argument(help="调查平台导出的 xlsx/csv：逐条答卷（单位、满意程度）或汇总表（单位、样本数、满意率或得分）")],
    cycle: CycleOpt,
    source: Annotated[str, typer.Option(help="来源名称，如 政府网站调查、12345回访；多个来源按计分规则的权重合并")],
) -> None:
    """导入民意调查结果。"""
    _outside_import(cycle, file, "opinion", source)


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


# --------------------------------------------------------------------------- sign-offs and status

StageOpt = Annotated[str, typer.Option("--stage", help="verification（专班核实）或 approval（分管领导审定）")]


@signoff_app.command("request")
@refusals_exit
def signoff_request(cycle: CycleOpt, stage: StageOpt) -> None:
    """提请签字：给指定签字人发一次性验证码（KAOPING_VERIFIER_* / KAOPING_APPROVER_*）。"""
    from kaoping.services import cycles
    from kaoping.services.signoff import STAGES, request_signoff

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
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
        "--confirm-self-scored", help="核实签字时一并确认牵头考核单位自评项（逐项记入审计日志）")] = False,
) -> None:
    """签字（运维人员代签字人操作，须有签字人收到的验证码）。"""
    from sqlmodel import select

    from kaoping.models import SignoffRequest
    from kaoping.services import cycles
    from kaoping.services.signoff import give_signoff

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
        outcome = give_signoff(session, s, c, stage, code=code, approve=approve, comments=comment, actor=actor_of(s),
                               confirm_self_scored=confirm_self_scored)
        waiting = session.exec(select(SignoffRequest.flow_run_id).where(
            SignoffRequest.cycle_id == c.id, SignoffRequest.stage == stage).order_by(SignoffRequest.id.desc())).first()
    if not outcome.ok:
        err.print(f"[bold red]未签字[/bold red]：{outcome.message}", markup=True)
        raise typer.Exit(2)
    out.print(outcome.message)
    if waiting:
        from kaoping.adapters.prefect_runs import release_paused_run

        note = release_paused_run(waiting)
        if note:
            out.print(note)


@app.command("status")
@refusals_exit
def status_command(cycle: CycleOpt) -> None:
    """周期进展：各类表格应收与已收、逾期单位、发件箱、签字环节。"""
    from kaoping.services import cycles
    from kaoping.services.status import cycle_status

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        c = cycles.get_cycle(session, cycle)
        report = cycle_status(session, c, today=datetime.now(s.tz).date(), tz=s.tz)
    for line in report.lines():
        out.print(line)


@app.command("mailsink")
@refusals_exit
def mailsink_command(
    folder: Annotated[Path, typer.Option("--dir", help="保存 .eml 的目录")] = Path("mail"),
    port: Annotated[int, typer.Option(help="监听端口（127.0.0.1）")] = 8025,
) -> None:
    """本机试用：启动一个把收到的邮件都存成 .eml 的 SMTP 服务（Ctrl-C 结束）。"""
    import time

    from kaoping.adapters.mail.sink import MailSink

    with MailSink(folder, port) as sink:
        out.print(f"SMTP 服务已启动：127.0.0.1:{sink.port}，邮件保存在 {folder}/。"
                  f"设置 KAOPING_SMTP_HOST=127.0.0.1 KAOPING_SMTP_PORT={sink.port} 后运行 kaoping outbox send。Ctrl-C 结束。")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            out.print(f"已结束，共收到 {sink.count} 封。")


# --------------------------------------------------------------------------- demo


@app.command()
@refusals_exit
def demo(
    output: Annotated[Path, typer.Option("--out", help="演示输出目录（每次重建）")] = Path("demo-output"),
) -> None:
    """演示：全新的 SQLite 数据库和本地邮件服务上跑一个完整的半年考评（模拟各单位），输出报告和邮件。"""
    from kaoping.demo import run as demo_run

    demo_run.run(output, out, initialize=initialize)


def main() -> None:  # pragma: no cover - console entry point
    app()
