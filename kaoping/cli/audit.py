"""`kaoping audit verify|log`: the tamper-evident audit log (审计日志)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from kaoping.cli.common import err, out, refusals_exit, schema_session
from kaoping.domain.clock import local_time
from kaoping.records import audit

audit_app = typer.Typer(help="审计日志 / audit log", no_args_is_help=True)


@audit_app.command("verify")
@refusals_exit
def audit_verify() -> None:
    """校验审计日志是否被改动、插入或删除（逐条核对链式签名）。"""
    with schema_session() as (s, session):
        anchors = audit.read_anchors(session, s)
        report = audit.verify_chain(session, s.secret_key.get_secret_value().encode(), tz=s.tz, anchors=anchors)
    if report.ok:
        out.print(f"审计日志完整：共 {report.entries} 条，末条 #{report.head_seq}，末条签名 {report.head_hash[:16]}…；"
                  f"与 {report.anchors} 个锚点（签字、印发时记录在日志之外）一致。")
        if not report.anchors:
            out.print("尚无锚点：在第一次签字或印发之前，删除最新的记录无法被发现。")
        return
    if report.key_mismatch:
        err.print(f"[bold red]密钥不符[/bold red]：{report.problem}", markup=True, highlight=False)
        raise typer.Exit(6)
    err.print(f"[bold red]审计日志被改动[/bold red]：{report.problem}", markup=True, highlight=False)
    err.print(f"此前的 {max(report.entries - 1, 0)} 条记录完好（至 #{report.head_seq}）。")
    raise typer.Exit(5)


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
