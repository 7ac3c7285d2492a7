"""The tasks of kaoping's flows: each wraps one service call, takes plain values (cycle codes,
stages, ISO dates, ids), opens its own session, does one thing and commits. Nothing here
decides anything: the services do, and they run (and are tested) without Prefect.

The cycle's tasks (``stage_task``) persist their results and retry what may pass next time;
they never answer from a cache, because the database, not a cached result, says what is done.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from kaoping import db
from kaoping.adapters.mail.smtp import send_pending
from kaoping.adapters.prefect_runs import release_paused_run, run_link
from kaoping.domain.errors import KaopingError
from kaoping.flows.trigger import advance_cycles
from kaoping.models import FormKind
from kaoping.services import audit, signoff, stages
from kaoping.services.cycles import get_cycle
from kaoping.services.intake import receive_path
from kaoping.services.mailbox import fetch_mail
from kaoping.services.objection_report import objections_markdown
from kaoping.services.reminders import run_reminders
from kaoping.services.status import cycle_status, results_table, signoff_summary
from kaoping.services.workdays import WorkCalendar
from kaoping.settings import get_settings

FLOW_ACTOR = "flow:half_year_cycle"


def _not_a_refusal(task, task_run, state) -> bool:
    """Retry what may pass next time (a database restart); never a refusal (it would only repeat)."""
    try:
        state.result()
    except KaopingError:
        return False
    except Exception:  # noqa: BLE001 - anything else is worth another try
        return True
    return False


def stage_task(name: str):
    # The database is the source of truth: never answer a task from a cached result.
    return task(name=name, cache_policy=NO_CACHE, persist_result=True, retries=2, retry_delay_seconds=5,
                retry_condition_fn=_not_a_refusal)


# --------------------------------------------------------------------------- shared


@stage_task("发送邮件")
def send_outbox() -> dict:
    """Send what the outbox holds (the cycle after each stage, the scheduled flows after theirs)."""
    report = send_pending(get_settings())
    return {"sent": len(report.sent), "failed": len(report.failed), "deferred": len(report.deferred)}


# --------------------------------------------------------------------------- the half-year cycle: stages


@stage_task("开启周期并确定日程")
def prepare_cycle(code: str, choice: dict, today: str) -> dict:
    settings = get_settings()
    with db.session_scope(settings) as session:
        prepared = stages.prepare(session, settings, code, stages.PlanChoice(**choice), today=date.fromisoformat(today))
        return {"created": prepared.created, "notes": prepared.notes}


@stage_task("读取周期进展")
def cycle_progress(code: str, today: str) -> dict:
    settings = get_settings()
    with db.session_scope(settings) as session:
        report = cycle_status(session, get_cycle(session, code), today=date.fromisoformat(today), tz=settings.tz)
        return {"status": str(report.cycle.status), "next_step": report.next_step, "waiting_for": report.waiting_for}


@stage_task("下发表格")
def issue_forms(code: str, kind: str, today: str) -> dict:
    settings = get_settings()
    with db.session_scope(settings) as session:
        issued = stages.issue(session, settings, get_cycle(session, code), FormKind(kind), today=date.fromisoformat(today))
        return {"kind": FormKind(kind).label, "forms": issued.forms, "queued": issued.queued, "skipped": issued.skipped}


@stage_task("安排实地调研并发送日历邀请")
def arrange_visits(code: str) -> dict:
    settings = get_settings()
    with db.session_scope(settings) as session:
        return asdict(stages.arrange_visits(session, settings, get_cycle(session, code)))


@stage_task("印发报告并分发")
def publish_reports(code: str, today: str) -> dict:
    settings = get_settings()
    with db.session_scope(settings) as session:
        return asdict(stages.publish(session, settings, get_cycle(session, code), signed=date.fromisoformat(today)))


@stage_task("发送征求意见稿并开始异议期")
def open_objection_window(code: str, today: str) -> dict:
    """The objection stage (异议期, issue 17): every unit's provisional 反馈函, emailed."""
    from kaoping.services.provisional import open_window

    settings = get_settings()
    with db.session_scope(settings) as session:
        opened = open_window(session, settings, get_cycle(session, code), today=date.fromisoformat(today))
        return {"letters": opened.letters, "queued": opened.queued, "closes_on": opened.closes_on.isoformat(),
                "skipped": opened.skipped}


@stage_task("更新周期看板")
def publish_artifacts(code: str, today: str) -> str:
    """Artifacts with stable keys, one set per cycle: stages, returns, late units, results."""
    settings = get_settings()
    key = f"kaoping-{code.lower()}"
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, code)
        report = cycle_status(session, cycle, today=date.fromisoformat(today), tz=settings.tz)
        rows, problems = results_table(session, cycle)
        markdown, returns, late = report.markdown(), report.returns_table(), report.late_units()
        objections = objections_markdown(session, cycle, settings.tz)  # issue 17: open and decided objections
    create_markdown_artifact(key=f"{key}-stages", markdown=markdown, description=f"{code} 各环节进展")
    create_table_artifact(key=f"{key}-returns", table=returns, description=f"{code} 应收与已收（按单位、牵头考核单位）")
    create_markdown_artifact(key=f"{key}-late", description=f"{code} 逾期单位",
                             markdown=f"# {code} 逾期单位（{len(late)} 个）\n\n" + ("、".join(late) if late else "暂无"))
    create_markdown_artifact(key=f"{key}-objections", markdown=objections, description=f"{code} 征求意见与异议处理")
    if rows:
        create_table_artifact(key=f"{key}-results", table=rows, description=f"{code} 考评结果（当前数据计算）")
    else:
        create_markdown_artifact(key=f"{key}-results", description=f"{code} 考评结果",
                                 markdown="# 考评结果尚不能计算\n\n" + "\n".join(f"- {p}" for p in problems[:30]))
    return report.waiting_for


# --------------------------------------------------------------------------- the half-year cycle: sign-offs


@stage_task("签字准备")
def signoff_state(code: str, stage: str) -> dict:
    """Whether this stage still needs a signature, whether a code is out and usable, and the
    number of answers so far (the key of the next question)."""
    settings = get_settings()
    with db.session_scope(settings) as session:
        return asdict(signoff.signoff_state(session, cycle_code=code, stage=stage))


@stage_task("发送签字验证码")
def request_code(code: str, stage: str, flow_run_id: str) -> dict:
    settings = get_settings()
    link = run_link(flow_run_id)
    try:
        with db.session_scope(settings) as session:
            request = signoff.ask_signer(session, settings, cycle_code=code, stage=stage, flow_run_id=flow_run_id,
                                         link=link, actor=FLOW_ACTOR)
            return {"signer": request.signer_name, "email": request.signer_email, "refused": ""}
    except KaopingError as exc:  # e.g. too many codes for this stage today: the run waits, it does not fail
        return {"signer": "", "email": "", "refused": str(exc)}


@stage_task("签字内容摘要")
def signoff_description(code: str, stage: str) -> str:
    settings = get_settings()
    with db.session_scope(settings) as session:
        return signoff_summary(session, get_cycle(session, code), stage, settings.tz)


@stage_task("核对验证码并记录签字")
def record_answer(code: str, stage: str, answer: dict | None, problem: str, flow_run_id: str) -> dict:
    settings = get_settings()
    with db.session_scope(settings) as session:
        outcome = signoff.record_answer(session, settings, cycle_code=code, stage=stage, problem=problem,
                                        answer=None if answer is None else signoff.SignoffAnswer.from_form(answer),
                                        actor=f"Prefect 运行 {flow_run_id}")
        return {"ok": outcome.ok, "message": outcome.message, "decision": outcome.decision}


@task(name="审计锚点", cache_policy=NO_CACHE)
def anchor_artifact(code: str, why: str) -> str:
    """The audit head after a sign-off or publication, as a Prefect artifact: kept by the Prefect
    server, outside kaoping's database (``kaoping audit verify`` checks the log against such anchors)."""
    settings = get_settings()
    with db.session_scope(settings) as session:
        seq, seal = audit.head(session)
    label = f"{seq}:{seal}"
    create_markdown_artifact(
        key=f"kaoping-{code.lower()}-audit-anchor",
        description=f"{code} 审计锚点（{why}）",
        markdown=f"# 审计锚点 / audit anchor\n\n- 事件：{why}\n- 末条记录：第 {seq} 条\n- 签名：`{seal}`\n- 锚点：`{label}`\n\n"
                 f"如需核对：`kaoping audit verify`；日志中第 {seq} 条的签名必须与此一致。",
    )
    return label


# --------------------------------------------------------------------------- the scheduled flows


@task(name="催报提醒")
def queue_reminders(today: str) -> dict:
    settings = get_settings()
    with db.session_scope(settings) as session:
        run = run_reminders(session, settings, today=date.fromisoformat(today))
    return {"workday": run.workday, "reminders": run.reminders, "overdue": run.overdue,
            "escalations": run.escalations, "queued": run.queued}


@task(name="签字提醒")
def remind_signers(today: str) -> dict:
    settings = get_settings()
    with db.session_scope(settings) as session:
        done = signoff.remind_signers(session, settings, today=date.fromisoformat(today),
                                      calendar=WorkCalendar.load(session),
                                      link_of=lambda request: run_link(request.flow_run_id))
    return {"signers_reminded": done.reminded, "codes_renewed": done.renewed}


@task(name="推进考评周期")
def advance(today: str | None, reason: str) -> list[str]:
    settings = get_settings()
    return advance_cycles(settings, today=date.fromisoformat(today) if today else None, reason=reason)


@task(name="回收一个文件")
def receive_one(path: str, sender: str, received_at: str | None = None) -> dict:
    """Record one returned file, keep it as refused or hold it for the team; queue the receipt or
    the reason (never to a sender who is held)."""
    outcome = receive_path(get_settings(), Path(path), sender=sender, actor="flow:intake", channel="inbox",
                           received_at=datetime.fromisoformat(received_at) if received_at else None)
    if not outcome.accepted:
        return {"file": Path(path).name, "accepted": False, "held": outcome.held, "reason": outcome.reason}
    result = outcome.result
    return {"file": Path(path).name, "accepted": True, "held": False, "form_no": result.form_no,
            "summary": result.summary, "late": result.late}


@task(name="收取专用邮箱", cache_policy=NO_CACHE)
def fetch_mailbox() -> dict:
    """Take in what waits in the office mailbox (IMAP): each message recorded first, its forms taken
    in with its sender, then moved to the processed or refused folder. A refusal (the mailbox cannot
    be reached) fails the task: the messages stay in the mailbox for the next run."""
    report = fetch_mail(get_settings())
    for m in report.messages:
        if m.release_run:  # a signature by reply: the run that waited for it goes on
            m.summary += "；" + (release_paused_run(m.release_run, how="已通过邮件回复签字") or "没有等待签字的运行")
    return {"waiting": report.waiting,
            "messages": [{"sender": m.sender, "subject": m.subject, "outcome": m.outcome, "summary": m.summary,
                          "folder": m.folder, "files": m.files,
                          "received_at": m.received_at.isoformat() if m.received_at else None} for m in report.messages]}
