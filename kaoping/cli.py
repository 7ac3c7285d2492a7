"""The ``kaoping`` command: what operators of the 数字政府专班 type.

Every command reads the one settings object, runs its service in one transaction, and
turns a refusal into a message and a non-zero exit code — never a traceback.
"""

from __future__ import annotations

import functools
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from kaoping import audit, db
from kaoping.errors import KaopingError
from kaoping.files import Upload, keep_received, read_upload
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
app.add_typer(db_app, name="db")
app.add_typer(catalog_app, name="catalog")
app.add_typer(units_app, name="units")
app.add_typer(resp_app, name="responsibilities")
app.add_typer(audit_app, name="audit")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


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
    from kaoping import catalog as catalog_service
    from kaoping import registry

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
    from kaoping import catalog as catalog_service

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
    from kaoping import catalog as catalog_service

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
    from kaoping import catalog as catalog_service

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        print_summary(catalog_service.summarize(session, year))


def print_summary(summary) -> None:
    from kaoping.catalog import points_str

    out.print(f"[bold]{summary.year} 年{summary.title or '考评指标'}[/bold]（第 {summary.version} 版）", markup=True)
    table = Table(show_header=True, header_style="bold")
    table.add_column("大项")
    table.add_column("名称")
    table.add_column("分值", justify="right")
    table.add_column("指标数", justify="right")
    total = 0
    for numeral, name, points, count in summary.areas:
        table.add_row(numeral, name, points_str(points), str(count))
        total += points
    table.add_row("", "合计", points_str(total), str(summary.indicators), style="bold")
    out.print(table)
    out.print(
        f"共 {len(summary.areas)} 个大项、{summary.indicators} 项指标；其中 {summary.open_items} 项未标分值，"
        "由牵头考核单位按办法三(四)自行明确（未明确前按所在分组/大项平均分配）。"
    )
    leads = Table(show_header=True, header_style="bold", title="各牵头考核单位牵头的指标数")
    leads.add_column("牵头考核单位")
    leads.add_column("指标数", justify="right")
    for name, count in summary.leads:
        leads.add_row(name, str(count))
    out.print(leads)


# --------------------------------------------------------------------------- units


@units_app.command("import")
@refusals_exit
def units_import(file: Annotated[Path, typer.Argument(help="名录文件：.yaml 或 .csv")]) -> None:
    """导入或更新考评对象名录（按单位代码新增或更新；文件中没有的单位保持不变）。"""
    from kaoping import registry

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
    from kaoping import registry
    from models import Contact, UnitAlias, UnitGroup

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
    from kaoping import responsibilities

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

    from kaoping import registry, responsibilities

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
        report = audit.verify_chain(session, s.secret_key.get_secret_value().encode())
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

    from models import AuditEntry

    s = settings()
    require_schema(s)
    with db.session_scope(s) as session:
        rows = session.exec(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)).all()
    table = Table(show_header=True, header_style="bold")
    for col in ("#", "时间", "操作人", "操作", "对象", "原因"):
        table.add_column(col)
    for e in reversed(rows):
        when = e.at.astimezone(s.tz).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(str(e.seq), when, e.actor, e.action, e.entity, e.reason)
    out.print(table)


# --------------------------------------------------------------------------- demo


@app.command()
@refusals_exit
def demo(
    output: Annotated[Path, typer.Option("--out", help="演示输出目录（每次重建）")] = Path("demo-output"),
) -> None:
    """演示：在全新的 SQLite 数据库中装入 2022 年指标与包头名录，并显示指标概要。"""
    from kaoping import catalog as catalog_service

    s = Settings(var_dir=output.resolve(), database_url="")
    db.dispose_engine(s.effective_database_url)
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    out.print(f"[bold]kaoping 演示[/bold] — 数据目录 {output}/", markup=True)
    for line in initialize(s):
        out.print("  " + line)
    with db.session_scope(s) as session:
        print_summary(catalog_service.summarize(session, 2022))
    out.print(
        "\n尚未实现的环节（考评周期、表单、邮件、计分、报告）将随后续版本加入；"
        f"本次演示的数据库：{output}/kaoping.sqlite3"
    )


def main() -> None:  # pragma: no cover - console entry point
    app()
