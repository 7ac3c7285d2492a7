"""`kaoping audit verify|log`: the tamper-evident audit log (审计日志)."""

from __future__ import annotations

from typing import Annotated

import typer
from kaoping.models.types import utcnow
from rich.table import Table

from kaoping.cli.common import err, out, refusals_exit, schema_session
from kaoping.domain.clock import local_time
from kaoping.domain.errors import KaopingError
from kaoping.records import audit

audit_app = typer.Typer(help="审计日志 / audit log", no_args_is_help=True)


@audit_app.command("verify")
@refusals_exit
def audit_verify(
    anchor: Annotated[list[str] | None, typer.Option(
        "--anchor", help="另外核对的锚点“序号:签名”（取自锚点邮件、邮件头 X-Kaoping-Audit-Anchor、公文属性或 Prefect 中的锚点），可多次给出")] = None,
) -> None:
    """校验审计日志是否被改动、插入、删除或重新签名：逐条核对链式签名，并与记录在日志之外的每个锚点核对。"""
    try:
        given = [audit.parse_anchor(a, f"命令行给出的锚点 {a[:12]}…") for a in anchor or []]
    except ValueError as exc:
        raise KaopingError(str(exc)) from exc
    with schema_session() as (s, session):
        anchors = audit.read_anchors(session, s) + given
        report = audit.verify_chain(session, s.audit_keys, tz=s.tz, anchors=anchors)
    if report.ok:
        out.print(f"审计日志完整：共 {report.entries} 条，末条 #{report.head_seq}，末条签名 {report.head_hash[:16]}…；"
                  f"与 {report.anchors} 个锚点（记录在日志之外）一致。")
        out.print(since_last_anchor(report, s.tz))
        return
    err.print(f"[bold red]审计日志被改动[/bold red]：{report.problem}", markup=True, highlight=False)
    if not report.foreign_key:
        err.print(f"第 {report.first_bad_seq or report.head_seq + 1} 条之前的记录完好（至 #{report.head_seq}）。")
    raise typer.Exit(5)


def since_last_anchor(report, tz) -> str:
    """How long since the newest anchor, and how many entries came after it: the most a cut could remove unseen."""
    latest = report.last_anchor
    if latest is None:
        return ("尚无锚点：在第一个环节完成之前，删除最新的记录无法被发现。"
                " / No anchor yet: the newest entries could be cut unnoticed.")
    when = ""
    if latest.at is not None:
        hours = (utcnow() - latest.at).total_seconds() / 3600
        when = f"，{local_time(latest.at, tz)}（{hours:.0f} 小时前）" if hours >= 1 else f"，{local_time(latest.at, tz)}（不到 1 小时前）"
    after = (f"此后又记录了 {report.unanchored} 条：在下一个锚点之前，删除这 {report.unanchored} 条无法被发现。"
             if report.unanchored else "此后没有新记录：日志末尾也在锚点之内。")
    return f"最近的锚点：第 {latest.seq} 条（{latest.source}{when}）。{after}"


@audit_app.command("log")
@refusals_exit
def audit_log(limit: Annotated[int, typer.Option(help="显示最近多少条")] = 20) -> None:
    """显示最近的审计日志。"""
    with schema_session() as (s, session):
        rows = audit.recent(session, limit)
    table = Table(show_header=True, header_style="bold")
    for col in ("#", "时间", "操作人", "操作", "对象", "原因"):
        table.add_column(col)
    for e in rows:
        when = local_time(e.at, s.tz, seconds=True)
        table.add_row(str(e.seq), when, e.actor, e.action, e.entity, e.reason)
    out.print(table)
