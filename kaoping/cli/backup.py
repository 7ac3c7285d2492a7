"""`kaoping backup`, `kaoping restore`, `kaoping archive`: keeping what kaoping holds safe, and a
cycle's records for 归档."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kaoping.cli.common import CycleOpt, cycle_session, out, ready, refusals_exit, settings
from kaoping.domain.errors import Conflict


@refusals_exit
def backup_command(
    out_file: Annotated[Path, typer.Option("--out", help="备份文件，例如 /backup/kaoping-2022-07-20.tar.gz")],
) -> None:
    """备份：数据库（每张表）、收到的文件、下发的表格、公文、审计锚点，连同带校验和的清单，写成一个文件（以密钥签名）。"""
    from kaoping.services.stages.backup import backup

    s = ready()
    if out_file.exists():
        raise Conflict(f"{out_file} 已存在：请换一个文件名（备份不覆盖已有文件）。")
    made = backup(s, out_file)
    out.print(f"已备份到 {made.path}（{made.size / 1048576:.1f} MB）：{made.tables} 张表 {made.rows} 行，"
              f"{made.files} 个文件；审计日志锚点 {made.audit_head[0]}:{made.audit_head[1][:16]}…")
    out.print("请把备份文件另存到本机以外（它含有全部考评数据：按涉密或内部资料管理）；恢复：kaoping restore 文件。")


@refusals_exit
def restore_command(file: Annotated[Path, typer.Argument(help="kaoping backup 写出的备份文件")]) -> None:
    """恢复：先核对备份（签名、每个文件的校验和），再写入空数据库和 KAOPING_VAR_DIR，然后核验审计日志并重新计算各期结果。"""
    from kaoping.services.stages.backup import restore

    s = settings()
    report = restore(s, file)
    r = report.restored
    out.print(f"已恢复：{r.tables} 张表 {r.rows} 行，{r.files} 个文件" + (f"（另有 {r.skipped_files} 个已在且相同）" if r.skipped_files else ""))
    out.print(("✔ " if report.audit_ok else "✘ ") + report.audit)
    for code, verdict in report.results.items():
        mark = {"一致": "✔", "尚不能计算": "·"}.get(verdict, "✘")
        out.print(f"{mark} {code} 重新计算的结果与备份时{verdict if verdict != '尚不能计算' else '同样尚不能计算'}")
    if not report.ok:
        raise typer.Exit(6)


@refusals_exit
def archive_command(
    cycle: CycleOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="归档目录")],
) -> None:
    """归档：一期考评产生和收到的全部文件（公文、征求意见稿、下发的表格、收到的文件和邮件）与记录（结果、邮件、发文、签字、审计），附索引。"""
    from kaoping.services.stages.archive import archive_cycle

    with cycle_session(cycle) as (s, session, c):
        done = archive_cycle(session, s, c, out_dir)
    out.print(f"已归档 {cycle} 到 {done.out_dir}：{done.files} 个文件（收到的文件 {done.received} 个），索引：{done.index}")
    for note in done.notes:
        out.print(f"  说明：{note}")
