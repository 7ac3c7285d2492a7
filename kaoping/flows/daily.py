"""The scheduled flows: daily reminders (09:00 Asia/Shanghai) and the intake of returned files
(every 10 minutes). Flows only orchestrate: each task calls one kaoping service, with plain
values as arguments, in its own transaction. Re-running either is safe: reminders are keyed
per unit and day, a file is moved out of the inbox once handled, the outbox sends each
message once.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from pydantic import Field

from kaoping.flows.tasks import (
    advance,
    queue_reminders,
    receive_one,
    remind_signers,
    send_outbox,
)
from kaoping.settings import get_settings

# The scheduled flows run again within minutes (intake) or a day (reminders): unlike the cycle's,
# their sending is neither retried nor persisted.
send_mail = send_outbox.with_options(retries=0, persist_result=None)


@flow(name="reminders", description="每日催报：按工作日发提醒、逾期通知和督办，并发送发件箱中的邮件。")
def reminders(
    today: str | None = Field(None, description="按哪一天计算（YYYY-MM-DD），默认今天（北京时间）"),
) -> dict:
    settings = get_settings()
    day = today or datetime.now(settings.tz).date().isoformat()
    run = {**queue_reminders(day), **remind_signers(day)}
    sent = send_mail()
    started = advance(today, "每日推进")
    lines = [f"# 催报 {day}", ""]
    if not run["workday"]:
        lines.append("非工作日，不发提醒。")
    else:
        for label, key in (("提醒", "reminders"), ("逾期通知", "overdue"), ("督办", "escalations")):
            lines.append(f"- {label}：{len(run[key])} 个单位" + (f"（{'、'.join(run[key])}）" if run[key] else ""))
    for label, key in (("签字提醒", "signers_reminded"), ("重新发送验证码", "codes_renewed")):
        if run[key]:
            lines.append(f"- {label}：{'、'.join(run[key])}")
    lines.append(f"- 邮件：已发送 {sent['sent']}，失败 {sent['failed']}，暂未送达 {sent['deferred']}")
    if started:
        lines.append(f"- 已启动周期流程：{'、'.join(started)}")
    create_markdown_artifact(key="kaoping-reminders", markdown="\n".join(lines), description="最近一次催报")
    return {**run, **sent, "started": started}


@flow(name="intake", description="回收：扫描收件文件夹，识别并录入交回的表格，移入 accepted/ 或 refused/，回复回执或退回原因。")
def intake(
    inbox: str | None = Field(None, description="收件文件夹（默认 KAOPING_INBOX_DIR）"),
    received_at: datetime | None = Field(None, description="收件时间（补录时填邮件实际到达的时间；默认当前时间）"),
) -> list[dict]:
    """Each file in the inbox (not in sub-folders) once; ``NAME.sender`` beside a file names who sent it."""
    logger = get_run_logger()
    settings = get_settings()
    folder = Path(inbox) if inbox else settings.effective_inbox_dir
    if received_at is not None and received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=settings.tz)
    folder.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix != ".sender" and not p.name.startswith(".")):
        sidecar = path.with_name(path.name + ".sender")
        sender = sidecar.read_text(encoding="utf-8").strip() if sidecar.exists() else ""
        outcome = receive_one(str(path), sender, received_at.isoformat() if received_at else None)
        target = folder / ("accepted" if outcome["accepted"] else "refused")
        target.mkdir(exist_ok=True)
        shutil.move(str(path), target / path.name)
        if sidecar.exists():
            shutil.move(str(sidecar), target / sidecar.name)
        logger.info("%s %s", "已接收" if outcome["accepted"] else "已拒收", path.name)
        outcomes.append(outcome)
    sent = send_mail() if outcomes else {"sent": 0}
    if any(o["accepted"] for o in outcomes):
        today = received_at.astimezone(settings.tz).date().isoformat() if received_at else None
        for code in advance(today, "收到交回的表格"):
            logger.info("已启动 %s 的周期流程", code)
    rows = ["| 文件 | 结果 |", "|---|---|"] + [
        f"| {o['file']} | {'已接收 ' + o['form_no'] + ('（逾期）' if o['late'] else '') if o['accepted'] else '已拒收：' + o['reason'].splitlines()[0]} |"
        for o in outcomes
    ]
    create_markdown_artifact(key="kaoping-intake", markdown=f"# 最近一次回收（{len(outcomes)} 个文件，回复邮件 {sent['sent']} 封）\n\n"
                             + "\n".join(rows), description="最近一次回收")
    return outcomes
