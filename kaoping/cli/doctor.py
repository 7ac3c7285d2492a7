"""`kaoping doctor`: check a set-up the way the first real cycle will use it, and print a Chinese
checklist — ✔ ready, ! worth a look, ✘ blocks a cycle, each with what to do. Run it on every
worker (and after every change of settings) until it is all ✔: exit code 0 then, 1 while anything
blocks a cycle. It sends no email, fetches no message and changes no data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from kaoping.adapters.console import out
from kaoping.cli.common import refusals_exit
from kaoping.domain.clock import local_date
from kaoping.domain.readiness import Check, Status, blocking
from kaoping.models.types import utcnow
from kaoping.settings import Settings, describe_settings_error, get_settings


def _settings() -> tuple[Settings | None, Check | None]:
    try:
        return get_settings(), None
    except (ValidationError, SettingsError) as exc:
        return None, Check.fail("设置", "读取设置", describe_settings_error(exc), fix="按提示改正该环境变量后重新运行")


def run_checks(s: Settings, *, env_files: list[Path], network: bool = True) -> list[Check]:
    """Every check, in the order of the README's production set-up."""
    from kaoping.adapters.prefect_check import prefect_checks
    from kaoping.notifications.mail.imap import imap_check
    from kaoping.notifications.mail.smtp import smtp_check
    from kaoping.services.stages import readiness

    checks = readiness.settings_checks(s, readiness.env_files(extra=env_files))
    checks += readiness.database_checks(s, local_date(utcnow(), s.tz))
    if network:
        checks += [smtp_check(s), imap_check(s)]
        checks += prefect_checks(s.prefect_deployment)
    checks += readiness.disk_checks(s)
    return checks


def print_checklist(checks: list[Check]) -> None:
    colour = {Status.ok: "green", Status.warn: "yellow", Status.fail: "red"}
    area = ""
    for check in checks:
        if check.area != area:
            area = check.area
            out.print(f"\n[bold]{area}[/bold]", markup=True)
        out.print(f"[{colour[check.status]}]{check.status.mark}[/{colour[check.status]}] {check.title}：{check.summary}",
                  markup=True, highlight=False)
        for line in check.details:
            out.print(f"    {line}", highlight=False, markup=False)
        if check.fix and check.status is not Status.ok:
            out.print(f"    → {check.fix}", highlight=False, markup=False)


@refusals_exit
def doctor(
    env_file: Annotated[list[Path], typer.Option("--env-file", help="还要检查其权限的环境文件（默认 .env 和 /etc/kaoping/kaoping.env）")] = [],  # noqa: B006
    offline: Annotated[bool, typer.Option("--offline", help="不连接邮件服务器和 Prefect（只查设置、数据库和磁盘）")] = False,
) -> None:
    """检查部署是否可以开始真实的考评：设置（不能是占位符）、密钥、数据库、发件和收件邮箱、Prefect 服务器、
    工作池和部署、界面地址、时区、磁盘和工作日历。逐项显示 ✔ / ! / ✘ 和处理办法；有 ✘ 时退出码为 1。"""
    s, refused = _settings()
    out.print("[bold]kaoping 部署检查[/bold]（kaoping doctor）", markup=True)
    checks = [refused] if refused else run_checks(s, env_files=env_file, network=not offline)
    print_checklist(checks)
    failed = blocking(checks)
    warned = [c for c in checks if c.status is Status.warn]
    if failed:
        out.print(f"\n[red]有 {len(failed)} 项须处理（✘）[/red]" + (f"，{len(warned)} 项请留意（!）" if warned else "")
                  + "：处理后再运行 kaoping doctor，直到全部为 ✔。", markup=True)
        raise typer.Exit(1)
    out.print("\n[green]全部就绪（✔）[/green]" + (f"；{len(warned)} 项请留意（!）" if warned else "")
              + ("。（未检查邮件服务器和 Prefect：去掉 --offline 再运行一次）" if offline else "。"), markup=True)
