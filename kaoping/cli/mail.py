"""`kaoping mail fetch|list`, `kaoping outbox send|list|retry`, `kaoping calendar check|set`,
`kaoping reminders run` and `kaoping mailsink`: email, working days and the reminders that use both."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from kaoping.adapters.prefect_runs import release_paused_run
from kaoping.cli.common import (
    actor_of,
    err,
    local_today,
    out,
    parse_day,
    ready,
    refusals_exit,
    schema_session,
)
from kaoping.domain.errors import Conflict, KaopingError, Unavailable
from kaoping.models import MessageStatus
from kaoping.notifications import outbox
from kaoping.notifications.delivery import retry_failed, send_pending
from kaoping.notifications.mail.sink import MailSink
from kaoping.notifications.mailbox import fetch_mail, recorded_messages
from kaoping.notifications.reminders import run_reminders
from kaoping.services.reference.workdays import check_year, set_override

mail_app = typer.Typer(help="专用邮箱（IMAP）收件 / the office mailbox", no_args_is_help=True)
outbox_app = typer.Typer(help="发件箱 / outgoing email", no_args_is_help=True)
calendar_app = typer.Typer(help="工作日 / Chinese working days", no_args_is_help=True)
reminders_app = typer.Typer(help="催报提醒 / reminders and escalation", no_args_is_help=True)


OUTCOMES = {"accepted": "[green]已录入[/green]", "refused": "[red]有退回[/red]", "held": "[yellow]暂存待核实[/yellow]",
            "reply": "[green]已处理回复[/green]", "no_form": "[yellow]未附表格[/yellow]", "automatic": "[dim]自动邮件[/dim]",
            "duplicate": "[yellow]重复[/yellow]", "already": "[dim]此前已处理[/dim]"}


@mail_app.command("fetch")
@refusals_exit
def mail_fetch(limit: Annotated[int | None, typer.Option(help="最多收取多少封（默认 KAOPING_IMAP_BATCH）")] = None) -> None:
    """从专用邮箱收取一次：每封邮件先登记存档，再录入附带的表格（与收件文件夹相同的核对、回执和退回），
    然后移入“已录入”或“未录入”文件夹。回执放入发件箱（kaoping outbox send 发送；intake 流程会自动发送）。"""
    s = ready()
    if not s.imap_enabled:
        raise KaopingError("没有设置专用邮箱：请设置 KAOPING_IMAP_HOST、KAOPING_IMAP_USER、KAOPING_IMAP_PASSWORD"
                           "（及 KAOPING_IMAP_PORT、KAOPING_IMAP_SECURITY），见 README 的“配置”。 / KAOPING_IMAP_HOST is not set.")
    report = fetch_mail(s, limit=limit)
    if report.busy:
        raise Conflict("另一次收取正在处理专用邮箱（可能是每 10 分钟运行的回收流程）：本次未收取任何邮件，请稍后再试。"
                       " / Another fetch is taking mail from this mailbox; try again later.")
    for m in report.messages:
        if m.release_run:  # a signature by reply: the Prefect run that waited for it goes on
            m.summary += "；" + (release_paused_run(m.release_run, how="已通过邮件回复签字") or "没有等待签字的运行")
        out.print(f"{OUTCOMES.get(m.outcome, m.outcome)} {m.sender or '（无发件人）'}《{m.subject or '无主题'}》：{m.summary} → {m.folder}",
                  markup=True, highlight=False)
        for f in m.files:
            if not f["accepted"]:
                out.print(f"    {f['file']}：{f['reason'].splitlines()[0]}", highlight=False)
    out.print(f"共收取 {len(report.messages)} 封邮件，录入表格 {report.accepted_files} 份。"
              + (f"邮箱中还有 {report.waiting} 封，下次运行继续收取。" if report.waiting else ""))
    if report.interrupted:  # what was done is printed above; the rest stays in the mailbox
        raise Unavailable(f"收取中断：{report.interrupted}")


@mail_app.command("list")
@refusals_exit
def mail_list(limit: Annotated[int, typer.Option(help="最多列出多少封")] = 50) -> None:
    """列出最近从专用邮箱收取的邮件（登记、处理结果和去向）。"""
    with schema_session() as (s, session):
        rows = recorded_messages(session, limit=limit)
        table = Table(show_header=True, header_style="bold", box=box.SIMPLE_HEAD)
        for col in ("#", "收到时间", "发件人", "主题", "结果", "文件夹"):
            table.add_column(col)
        for m in rows:
            table.add_row(str(m.id), m.received_at.astimezone(s.tz).strftime("%Y-%m-%d %H:%M"), m.sender, m.subject[:40],
                          m.summary or m.status, m.folder if m.status == "moved" else f"{m.folder}（待移动）")
    out.print(table)


@outbox_app.command("send")
@refusals_exit
def outbox_send(limit: Annotated[int | None, typer.Option(help="最多发送多少封")] = None) -> None:
    """发送发件箱中待发送的邮件（一个连接发送一批；暂时失败的自动重试）。"""
    report = send_pending(ready(), limit=limit)
    out.print(f"已发送 {len(report.sent)} 封；失败 {len(report.failed)} 封；暂未送达（下次再试）{len(report.deferred)} 封。")
    for message_id, words in report.failed:
        err.print(f"  #{message_id} 发送失败：{words}")
    for message_id, words in report.deferred:
        err.print(f"  #{message_id} 暂未送达：{words}")
    if report.stopped:
        err.print(f"[bold red]已停止本批发送[/bold red]（其余邮件仍待发送，修正设置后再运行 kaoping outbox send）：{report.stopped}",
                  markup=True, highlight=False)
    if report.failed or report.deferred:
        raise typer.Exit(1)


@outbox_app.command("list")
@refusals_exit
def outbox_list(
    failed: Annotated[bool, typer.Option("--failed", help="只列发送失败的")] = False,
    limit: Annotated[int, typer.Option(help="最多列出多少封")] = 50,
) -> None:
    """列出发件箱中的邮件。"""
    with schema_session() as (_, session):
        rows = outbox.recent(session, failed=failed, limit=limit)
    table = Table(show_header=True, header_style="bold", box=box.SIMPLE_HEAD)
    for col in ("#", "状态", "类型", "收件人", "主题", "尝试", "说明"):
        table.add_column(col)
    for m in rows:
        table.add_row(str(m.id), MessageStatus(m.status).label, m.kind, "、".join(m.to), m.subject, str(m.attempts), m.last_error)
    out.print(table)


@outbox_app.command("retry")
@refusals_exit
def outbox_retry(message: Annotated[list[int] | None, typer.Option("--id", help="只重试这些编号")] = None) -> None:
    """把发送失败的邮件放回待发送（再运行 kaoping outbox send 发送）。"""
    n = retry_failed(ready(), message or None)
    out.print(f"已将 {n} 封失败的邮件放回待发送。")


@calendar_app.command("check")
@refusals_exit
def calendar_check(year: Annotated[int, typer.Argument(help="年份")]) -> None:
    """检查某年的工作日数据：节假日、调休上班日，以及数据来源。"""
    with schema_session() as (_, session):
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
    s = ready()
    when = parse_day(day)
    with schema_session(s) as (_, session):
        set_override(session, when, workday=workday, note=note, actor=actor_of(s))
    out.print(f"已设定 {when}：{'上班' if workday else '放假'}{('（' + note + '）') if note else ''}。")


@reminders_app.command("run")
@refusals_exit
def reminders_run(today: Annotated[str | None, typer.Option(help="按这一天计算（默认今天），例如 2022-07-06")] = None) -> None:
    """按催报规则把今天该发的提醒、逾期通知和督办放入发件箱（每单位每天最多一封）。"""
    s = ready()
    when = parse_day(today) or local_today(s)
    with schema_session(s) as (_, session):
        run = run_reminders(session, s, today=when)
    if not run.workday:
        out.print(f"{when} 不是工作日，不发提醒。")
        return
    out.print(f"{when}：提醒 {len(run.reminders)} 个单位，逾期通知 {len(run.overdue)} 个，督办 {len(run.escalations)} 个；"
              f"新放入发件箱 {run.queued} 封。")
    for label, names in (("提醒", run.reminders), ("逾期", run.overdue), ("督办", run.escalations)):
        if names:
            out.print(f"  {label}：{'、'.join(names)}")


@refusals_exit
def mailsink_command(
    folder: Annotated[Path, typer.Option("--dir", help="保存 .eml 的目录")] = Path("mail"),
    port: Annotated[int, typer.Option(help="监听端口（127.0.0.1）")] = 8025,
) -> None:
    """本机试用：启动一个把收到的邮件都存成 .eml 的 SMTP 服务（Ctrl-C 结束）。"""
    with MailSink(folder, port) as sink:
        out.print(f"SMTP 服务已启动：127.0.0.1:{sink.port}，邮件保存在 {folder}/。"
                  f"设置 KAOPING_SMTP_HOST=127.0.0.1 KAOPING_SMTP_PORT={sink.port} 后运行 kaoping outbox send。Ctrl-C 结束。")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            out.print(f"已结束，共收到 {sink.count} 封。")
