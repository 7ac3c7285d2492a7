"""The scheduled flows: daily reminders (09:00 Asia/Shanghai) and the intake of returned files
(every 10 minutes). Flows only orchestrate: each task calls one kaoping service, with plain
values as arguments, in its own transaction. Re-running either is safe: reminders are keyed
per unit and day, a file is moved out of the inbox once handled, the outbox sends each
message once.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from pydantic import Field

from kaoping import db
from kaoping.adapters.uploads import read_upload
from kaoping.domain.errors import KaopingError
from kaoping.settings import get_settings


@task(name="催报提醒")
def queue_reminders(today: str) -> dict:
    from kaoping.services.reminders import run_reminders

    settings = get_settings()
    with db.session_scope(settings) as session:
        run = run_reminders(session, settings, today=date.fromisoformat(today))
    return {"workday": run.workday, "reminders": run.reminders, "overdue": run.overdue,
            "escalations": run.escalations, "queued": run.queued}


@task(name="签字提醒")
def remind_signers(today: str) -> dict:
    from kaoping.adapters.prefect_runs import run_link
    from kaoping.services.signoff import remind_signers as remind
    from kaoping.services.workdays import WorkCalendar

    settings = get_settings()
    with db.session_scope(settings) as session:
        done = remind(session, settings, today=date.fromisoformat(today), calendar=WorkCalendar.load(session),
                      link_of=lambda request: run_link(request.flow_run_id))
    return {"signers_reminded": done.reminded, "codes_renewed": done.renewed}


@task(name="推进考评周期")
def advance(today: str | None, reason: str) -> list[str]:
    from kaoping.flows.trigger import advance_cycles

    settings = get_settings()
    return advance_cycles(settings, today=date.fromisoformat(today) if today else None, reason=reason)


@task(name="发送邮件")
def send_outbox() -> dict:
    from kaoping.adapters.mail.smtp import send_pending

    report = send_pending(get_settings())
    return {"sent": len(report.sent), "failed": len(report.failed), "deferred": len(report.deferred)}


@flow(name="reminders", description="每日催报：按工作日发提醒、逾期通知和督办，并发送发件箱中的邮件。")
def reminders(
    today: str | None = Field(None, description="按哪一天计算（YYYY-MM-DD），默认今天（北京时间）"),
) -> dict:
    settings = get_settings()
    day = today or datetime.now(settings.tz).date().isoformat()
    run = {**queue_reminders(day), **remind_signers(day)}
    sent = send_outbox()
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


@task(name="回收一个文件")
def receive_one(path: str, sender: str, received_at: str | None = None) -> dict:
    """Record one returned file (or keep it as refused) and queue the receipt or the reason."""
    from kaoping.services.intake import receive

    try:
        upload = read_upload(Path(path))
    except KaopingError as exc:
        return {"file": Path(path).name, "accepted": False, "reason": str(exc)}
    outcome = receive(get_settings(), upload, sender=sender, actor="flow:intake",
                      received_at=datetime.fromisoformat(received_at) if received_at else None)
    if not outcome.accepted:
        return {"file": Path(path).name, "accepted": False, "reason": outcome.reason}
    result = outcome.result
    return {"file": Path(path).name, "accepted": True, "form_no": result.form_no, "summary": result.summary,
            "late": result.late}


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
    sent = send_outbox() if outcomes else {"sent": 0}
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
