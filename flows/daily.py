"""The scheduled flows: daily reminders (09:00 Asia/Shanghai) and the intake of returned files
(every 10 minutes: from the office mailbox over IMAP when ``KAOPING_IMAP_HOST`` is set, else from
the inbox folder). Flows only orchestrate: each task calls one kaoping service, with plain
values as arguments, in its own transaction. Re-running either is safe: reminders are keyed
per unit and day, a message is recorded by Message-ID and a file moved out of the inbox once
handled, the outbox sends each message once.
"""

from __future__ import annotations

import os
from datetime import datetime
from kaoping.models.types import utcnow
from pathlib import Path

from kaoping.flows.runner import configured_task_runner, on_dask
from kaoping.flows.tasks import (
    advance,
    fetch_mailbox,
    queue_reminders,
    read_inbox,
    receive_one,
    release_signed_runs,
    remind_signers,
    send_outbox,
)
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from pydantic import Field

from kaoping.settings import get_settings

# The scheduled flows run again within minutes (intake) or a day (reminders): unlike the cycle's,
# their sending is neither retried nor persisted.
send_mail = send_outbox.with_options(retries=0, persist_result=None)


def _sender_of(sidecar: Path) -> str:
    """The address in ``NAME.sender`` (a regular file only, first line, bounded); "" if none."""
    if sidecar.is_symlink() or not sidecar.is_file():
        return ""
    with sidecar.open("rb") as handle:
        text = handle.read(1024).decode("utf-8", errors="replace")
    return (text.strip().splitlines() or [""])[0].strip()


def _move(path: Path, target: Path) -> None:
    """Move a file (or the link itself, never what it points to) into ``target``, not over another."""
    destination = target / path.name
    if destination.exists() or destination.is_symlink():
        destination = target / f"{path.stem}-{datetime.now().strftime('%Y%m%d%H%M%S%f')}{path.suffix}"
    os.replace(path, destination)  # a rename: a link is moved as a link


def _write_reason(path: Path, reason: str) -> None:
    path.write_text(reason + "\n", encoding="utf-8")


def reminders_run_name() -> str:
    """"每日催报 · 2022-07-05": the day it reminds for."""
    from prefect.runtime import flow_run

    today = (flow_run.parameters or {}).get("today")
    return f"每日催报 · {today or utcnow().astimezone(get_settings().tz).date().isoformat()}"


def intake_run_name() -> str:
    """"收件录入 · 2022-07-05 16:20": when it took the returns in (the office's time)."""
    from prefect.runtime import flow_run

    given = (flow_run.parameters or {}).get("received_at")
    when = given if isinstance(given, datetime) else datetime.fromisoformat(given) if given else None
    settings = get_settings()
    when = (when.replace(tzinfo=settings.tz) if when.tzinfo is None else when) if when else utcnow().astimezone(settings.tz)
    return f"收件录入 · {when.astimezone(settings.tz):%Y-%m-%d %H:%M}"


def _outcome_text(o: dict) -> str:
    if o["accepted"]:
        return "已接收 " + o["form_no"] + ("（逾期）" if o["late"] else "")
    return ("已暂存待核实：" if o.get("held") else "已拒收：") + o["reason"].splitlines()[0]


@flow(name="每日催报", flow_run_name=reminders_run_name,
      description="每日催报：按工作日发提醒、逾期通知和督办，并发送发件箱中的邮件。")
def reminders(
    today: str | None = Field(None, description="按哪一天计算（YYYY-MM-DD），默认今天（北京时间）"),
) -> dict:
    settings = get_settings()
    day = today or utcnow().astimezone(settings.tz).date().isoformat()
    run = {**queue_reminders(day), **remind_signers(day), "runs_released": release_signed_runs()}
    sent = send_mail()
    started = advance(today, "每日推进")
    lines = [f"# 催报 {day}", ""]
    if not run["workday"]:
        lines.append("非工作日，不发提醒。")
    else:
        for label, key in (("提醒", "reminders"), ("逾期通知", "overdue"), ("督办", "escalations")):
            lines.append(f"- {label}：{len(run[key])} 个单位" + (f"（{'、'.join(run[key])}）" if run[key] else ""))
    for label, key in (("签字提醒", "signers_reminded"), ("重新发送验证码", "codes_renewed"),
                       ("继续已签字的运行", "runs_released")):
        if run[key]:
            lines.append(f"- {label}：{'、'.join(run[key])}")
    if run.get("anchor_mailed"):
        lines.append("- 审计锚点：已发往专班邮箱（日志之外的一份副本）")
    lines.append(f"- 邮件：已发送 {sent['sent']}，失败 {sent['failed']}，暂未送达 {sent['deferred']}")
    if started:
        lines.append(f"- 已启动周期流程：{'、'.join(started)}")
    create_markdown_artifact(key="kaoping-reminders", markdown="\n".join(lines), description="最近一次催报")
    return {**run, **sent, "started": started}


@flow(name="收件录入", flow_run_name=intake_run_name, task_runner=configured_task_runner(), description="回收：从专用邮箱（设置了 KAOPING_IMAP_HOST 时）或收件文件夹收取交回的表格，识别并录入，"
                         "回复回执或退回原因，处理过的邮件移入“已录入”或“未录入”文件夹。")
def intake(
    received_at: datetime | None = Field(None, description="收件时间（仅收件文件夹：补录时填邮件实际到达的时间；默认当前时间）"),
) -> list[dict]:
    """Each returned file once, as a list of outcomes (one per file). Where from is the settings'
    alone (the mailbox, else ``KAOPING_INBOX_DIR``): a run's parameters never name a folder, so no
    one who can start a run can make the worker move files that are not kaoping's."""
    settings = get_settings()
    if settings.imap_enabled:
        return _intake_mailbox()
    return _intake_folder(settings.effective_inbox_dir, received_at)


def _intake_mailbox() -> list[dict]:
    """The office mailbox: every message recorded, its forms taken in, the message moved."""
    logger = get_run_logger()
    run = fetch_mailbox()
    outcomes, rows, latest = [], ["| 发件人 | 主题 | 结果 | 移入 |", "|---|---|---|---|"], None
    for m in run["messages"]:
        logger.info("邮件 %s《%s》：%s → %s", m["sender"], m["subject"], m["summary"], m["folder"])
        rows.append(f"| {m['sender']} | {m['subject'][:40]} | {m['summary']} | {m['folder']} |")
        for f in m["files"]:
            outcomes.append(f)
            rows.append(f"| | {f['file']} | {_outcome_text(f)} | |")
            if f["accepted"] and m["received_at"]:
                arrived = datetime.fromisoformat(m["received_at"])
                latest = max(latest or arrived, arrived)
    sent = send_mail() if run["messages"] else {"sent": 0}
    if latest:  # the day the newest accepted return arrived (the server's INTERNALDATE), in the office's zone
        today = latest.astimezone(get_settings().tz).date().isoformat()
        for code in advance(today, "收到交回的表格"):
            logger.info("已启动 %s 的周期流程", code)
    more = f"；邮箱中还有 {run['waiting']} 封，下次运行继续收取" if run["waiting"] else ""
    if run.get("busy"):
        more = "；另一次收取正在处理专用邮箱，本次未收取（下次运行再收）"
    if run.get("interrupted"):
        logger.warning("%s", run["interrupted"])
        more += f"；本次收取中断：{run['interrupted']}"
    create_markdown_artifact(key="kaoping-intake", description="最近一次回收（专用邮箱）",
                             markdown=f"# 最近一次回收：专用邮箱 {len(run['messages'])} 封邮件，{len(outcomes)} 个文件，"
                                      f"回复邮件 {sent['sent']} 封{more}\n\n" + "\n".join(rows))
    return outcomes


def _intake_folder(folder: Path, received_at: datetime | None) -> list[dict]:
    """Each file in the inbox (not in sub-folders) once; ``NAME.sender`` beside a file names who sent it."""
    logger = get_run_logger()
    settings = get_settings()
    if received_at is not None and received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=settings.tz)
    folder.mkdir(parents=True, exist_ok=True)
    outcomes = []
    # Not only regular files: a symbolic link, FIFO or device is refused and moved aside too
    # (never followed or opened). Sub-folders (accepted/, refused/, held/) are not scanned.
    entries = sorted(p for p in folder.iterdir()
                     if (p.is_symlink() or not p.is_dir()) and p.suffix != ".sender" and not p.name.startswith("."))
    # On Dask (issue 29) every file is first recognised and its tables read by the workers; each is then
    # recorded here, one transaction per file as without Dask.
    reads = read_inbox([str(p) for p in entries]) if entries and on_dask() else {}
    for path in entries:
        sidecar = path.with_name(path.name + ".sender")
        try:
            outcome = receive_one(str(path), _sender_of(sidecar), received_at.isoformat() if received_at else None,
                                  reads.get(str(path)))
        except Exception:  # noqa: BLE001 - the database is down or the like: not this file's fault, try it next run
            logger.exception("回收 %s 时出错，文件留在收件文件夹，下次运行再处理", path.name)
            continue
        target = folder / ("accepted" if outcome["accepted"] else "held" if outcome.get("held") else "refused")
        target.mkdir(exist_ok=True)
        _move(path, target)
        if sidecar.is_symlink() or sidecar.exists():
            _move(sidecar, target)
        if not outcome["accepted"]:
            _write_reason(target / (path.name + ".reason.txt"), outcome["reason"])
        logger.info("%s %s", "已接收" if outcome["accepted"] else "已暂存" if outcome.get("held") else "已拒收", path.name)
        outcomes.append(outcome)
    sent = send_mail() if outcomes else {"sent": 0}
    if any(o["accepted"] for o in outcomes):
        today = received_at.astimezone(settings.tz).date().isoformat() if received_at else None
        for code in advance(today, "收到交回的表格"):
            logger.info("已启动 %s 的周期流程", code)
    rows = ["| 文件 | 结果 |", "|---|---|"] + [f"| {o['file']} | {_outcome_text(o)} |" for o in outcomes]
    create_markdown_artifact(key="kaoping-intake", markdown=f"# 最近一次回收（{len(outcomes)} 个文件，回复邮件 {sent['sent']} 封）\n\n"
                             + "\n".join(rows), description="最近一次回收")
    return outcomes
