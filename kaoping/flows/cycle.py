"""The half-year cycle (半年考评) as one Prefect flow, started from the Prefect UI.

It runs every stage of DESIGN §4 that needs no person: it opens the cycle and fixes its
dates, issues the self-assessment forms, the third-party and opinion requests, plans the
field visits and sends the invitations, issues the lead scoring sheets once the
self-assessments are in (or their deadline has passed), asks for the two sign-offs, and
publishes and distributes the reports. Everything it knows comes from the database, so it
can be run again at any time: a retried, resumed or restarted run skips what is done.

Waiting never holds a worker:
- while returns are outstanding the run ends (state Completed, the artifacts say what it
  waits for); the intake flow (every 10 minutes) and the reminders flow (daily) start a
  new run of this deployment as soon as the cycle can move on;
- at a sign-off the run suspends (``suspend_flow_run``) until the signer resumes it in the
  UI with the one-time code kaoping emailed to them. A wrong code, an expired one or an
  invalid form asks again under a new key; nothing fails. On resume the run starts again
  from the top and reaches the same question, where Prefect hands it the answer.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Literal

import pydantic
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from pydantic import Field

from kaoping import db
from kaoping.domain.errors import KaopingError
from kaoping.models import FormKind
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


# --------------------------------------------------------------------------- tasks: one service each


@stage_task("开启周期并确定日程")
def prepare_cycle(code: str, choice: dict, today: str) -> dict:
    from kaoping.services.stages import PlanChoice, prepare

    settings = get_settings()
    with db.session_scope(settings) as session:
        prepared = prepare(session, settings, code, PlanChoice(**choice), today=date.fromisoformat(today))
        return {"created": prepared.created, "notes": prepared.notes}


@stage_task("读取周期进展")
def cycle_progress(code: str, today: str) -> dict:
    from kaoping.services.cycles import get_cycle
    from kaoping.services.status import cycle_status

    settings = get_settings()
    with db.session_scope(settings) as session:
        report = cycle_status(session, get_cycle(session, code), today=date.fromisoformat(today), tz=settings.tz)
        return {"status": str(report.cycle.status), "next_step": report.next_step, "waiting_for": report.waiting_for}


@stage_task("下发表格")
def issue_forms(code: str, kind: str, today: str) -> dict:
    from kaoping.services.cycles import get_cycle
    from kaoping.services.stages import issue

    settings = get_settings()
    with db.session_scope(settings) as session:
        issued = issue(session, settings, get_cycle(session, code), FormKind(kind), today=date.fromisoformat(today))
        return {"kind": FormKind(kind).label, "forms": issued.forms, "queued": issued.queued, "skipped": issued.skipped}


@stage_task("安排实地调研并发送日历邀请")
def arrange_visits(code: str) -> dict:
    from kaoping.services.cycles import get_cycle
    from kaoping.services.stages import arrange_visits as arrange

    settings = get_settings()
    with db.session_scope(settings) as session:
        return asdict(arrange(session, settings, get_cycle(session, code)))


@stage_task("发送邮件")
def send_outbox() -> dict:
    from kaoping.adapters.mail.smtp import send_pending

    report = send_pending(get_settings())
    return {"sent": len(report.sent), "failed": len(report.failed), "deferred": len(report.deferred)}


@stage_task("签字准备")
def signoff_state(code: str, stage: str) -> dict:
    """Whether this stage still needs a signature, whether a code is out and usable, and the
    number of answers so far (the key of the next question)."""
    from sqlmodel import func, select

    from kaoping.models import CycleStatus, SignoffRequest
    from kaoping.models.types import utcnow
    from kaoping.services.cycles import get_cycle
    from kaoping.services.signoff import blocking_problems, pending_request

    settings = get_settings()
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, code)
        status = CycleStatus(cycle.status)
        done = status in ((CycleStatus.verified, CycleStatus.approved, CycleStatus.closed) if stage == "verification"
                          else (CycleStatus.approved, CycleStatus.closed))
        request = pending_request(session, cycle, stage)
        answers = session.exec(select(func.coalesce(func.sum(SignoffRequest.answers), 0)).where(
            SignoffRequest.cycle_id == cycle.id, SignoffRequest.stage == stage)).one()
        blocking = [] if done or stage != "verification" else blocking_problems(session, cycle, self_scored_ok=True)
        return {"done": done, "usable": request is not None and request.expires_at > utcnow(),
                "answers": int(answers), "blocking": blocking}


@stage_task("发送签字验证码")
def request_code(code: str, stage: str, flow_run_id: str) -> dict:
    from kaoping.services.cycles import get_cycle
    from kaoping.services.signoff import request_signoff

    settings = get_settings()
    from kaoping.adapters.prefect_runs import run_link

    link = run_link(flow_run_id)
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, code)
        summary = (f"请打开 Prefect 界面中的这次运行，点击“Resume”，填写验证码并选择同意或退回：{link}"
                   if link else "请在 Prefect 界面中打开等待签字的 half_year_cycle 运行，点击“Resume”填写验证码。")
        request, _ = request_signoff(session, settings, cycle, stage, actor=FLOW_ACTOR, summary=summary)
        request.flow_run_id = flow_run_id
        session.add(request)
        return {"signer": request.signer_name, "email": request.signer_email}


@stage_task("签字内容摘要")
def signoff_description(code: str, stage: str) -> str:
    from kaoping.services.cycles import get_cycle
    from kaoping.services.status import signoff_summary

    settings = get_settings()
    with db.session_scope(settings) as session:
        return signoff_summary(session, get_cycle(session, code), stage, settings.tz)


@stage_task("核对验证码并记录签字")
def record_answer(code: str, stage: str, answer: dict | None, problem: str, flow_run_id: str) -> dict:
    from sqlmodel import select

    from kaoping.models import SignoffRequest
    from kaoping.services.cycles import get_cycle
    from kaoping.services.signoff import SignoffOutcome, give_signoff

    settings = get_settings()
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, code)
        if answer is None:
            outcome = SignoffOutcome(False, f"提交的内容无效，请重新填写：{problem}")
        else:
            outcome = give_signoff(session, settings, cycle, stage, code=answer.get("code", ""),
                                   approve=answer.get("decision") == "同意", comments=answer.get("comments", ""),
                                   confirm_self_scored=bool(answer.get("confirm_self_scored")),
                                   actor=f"Prefect 运行 {flow_run_id}")
        # Count the answer on the stage's latest request: the next question gets a new key.
        latest = session.exec(select(SignoffRequest).where(SignoffRequest.cycle_id == cycle.id, SignoffRequest.stage == stage)
                              .order_by(SignoffRequest.id.desc())).first()
        if latest is not None:
            latest.answers += 1
            latest.last_message = "" if outcome.ok else outcome.message
            session.add(latest)
        return {"ok": outcome.ok, "message": outcome.message, "decision": outcome.decision}


@stage_task("印发报告并分发")
def publish_reports(code: str, today: str) -> dict:
    from kaoping.services.cycles import get_cycle
    from kaoping.services.stages import publish

    settings = get_settings()
    with db.session_scope(settings) as session:
        return asdict(publish(session, settings, get_cycle(session, code), signed=date.fromisoformat(today)))


@stage_task("更新周期看板")
def publish_artifacts(code: str, today: str) -> str:
    """Artifacts with stable keys, one set per cycle: stages, returns, late units, results."""
    from kaoping.services.cycles import get_cycle
    from kaoping.services.status import cycle_status, results_table

    settings = get_settings()
    key = f"kaoping-{code.lower()}"
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, code)
        report = cycle_status(session, cycle, today=date.fromisoformat(today), tz=settings.tz)
        rows, problems = results_table(session, cycle)
        markdown, returns, late = report.markdown(), report.returns_table(), report.late_units()
    create_markdown_artifact(key=f"{key}-stages", markdown=markdown, description=f"{code} 各环节进展")
    create_table_artifact(key=f"{key}-returns", table=returns, description=f"{code} 应收与已收（按单位、牵头考核单位）")
    create_markdown_artifact(key=f"{key}-late", description=f"{code} 逾期单位",
                             markdown=f"# {code} 逾期单位（{len(late)} 个）\n\n" + ("、".join(late) if late else "暂无"))
    if rows:
        create_table_artifact(key=f"{key}-results", table=rows, description=f"{code} 考评结果（当前数据计算）")
    else:
        create_markdown_artifact(key=f"{key}-results", description=f"{code} 考评结果",
                                 markdown="# 考评结果尚不能计算\n\n" + "\n".join(f"- {p}" for p in problems[:30]))
    return report.waiting_for


# --------------------------------------------------------------------------- sign-offs


class SignoffInput(RunInput):
    code: str = Field("", title="验证码", description="签字人邮箱收到的 6 位一次性验证码（只发给签字人本人）")
    decision: Literal["同意", "退回修改"] = Field("同意", title="意见", description="同意：签字确认；退回修改：须在下面写明意见")
    comments: str = Field("", title="意见说明", description="退回修改时必填，写明需要修改的内容；同意时可留空")


class VerificationInput(SignoffInput):
    confirm_self_scored: bool = Field(
        True, title="同时确认牵头考核单位自评项",
        description="勾选：签字时一并确认各牵头考核单位对本单位承担指标的自评分核实无误（逐项记入审计日志）")


def _sign(code: str, stage: str) -> str | None:
    """Ask the designated signer until a valid answer comes; ``None`` if this run cannot ask."""
    logger = get_run_logger()
    context = FlowRunContext.get()
    flow_run_id = str(context.flow_run.id) if context and context.flow_run else ""
    while True:
        state = signoff_state(code, stage)
        if state["done"]:
            return "approve"
        if state["blocking"]:
            logger.warning("核实签字前须处理以下问题：\n%s", "\n".join(state["blocking"]))
            return None
        if not state["usable"]:
            who = request_code(code, stage, flow_run_id)
            send_outbox()
            logger.info("已向 %s <%s> 发送一次性验证码", who["signer"], who["email"])
        form = VerificationInput if stage == "verification" else SignoffInput
        description = signoff_description(code, stage)
        problem = ""
        try:
            given = suspend_flow_run(wait_for_input=form.with_initial_data(description=description),
                                     key=f"signoff-{stage}-{state['answers']}")
            answer = given.model_dump(include=set(form.model_fields))
        except pydantic.ValidationError as exc:
            answer, problem = None, "; ".join(e["msg"] for e in exc.errors())
        except RuntimeError as exc:  # not started from a deployment: it cannot be suspended
            logger.warning("本次运行不能暂停等待签字（%s）：验证码已发给签字人，请从部署重新运行本流程，"
                           "或由运维人员使用 `kaoping signoff give`。", exc)
            return None
        outcome = record_answer(code, stage, answer, problem, flow_run_id)
        if outcome["ok"]:
            logger.info(outcome["message"])
            return outcome["decision"]
        logger.warning("签字未生效，重新等待：%s", outcome["message"])


# --------------------------------------------------------------------------- the flow


@flow(name="half_year_cycle", persist_result=True,
      description="半年考评全流程：开启周期、下发自评表、催报回收、评分表、实地调研、第三方评估和民意调查、"
                  "专班核实签字、分管领导审定、印发报告并分发。可随时重新运行：已完成的环节不会重复。")
def half_year_cycle(
    year: int = Field(..., description="年度：考评年度，例如 2022"),
    half: int = Field(..., ge=1, le=2, description="半年：1 = 上半年，2 = 下半年"),
    self_assessment_deadline: date | None = Field(
        None, description="自评表截止日期：留空则按下面的工作日数计算；须为工作日"),
    self_assessment_workdays: int = Field(
        10, ge=1, le=60, description="自评表期限（工作日）：自评表下发后第几个工作日截止（未填写截止日期时使用）"),
    scoring_workdays: int = Field(5, ge=1, le=60, description="评分表期限（工作日）：评分表下发后第几个工作日截止"),
    results_workdays: int = Field(
        20, ge=1, le=120,
        description="第三方评估和民意调查期限（工作日）：委托发出后第几个工作日截止（不早于实地调研结束后 2 个工作日）"),
    visit_start: date | None = Field(None, description="实地调研开始日期：留空则为自评表截止后的第 1 个工作日"),
    visit_end: date | None = Field(None, description="实地调研结束日期：留空则为开始后的第 10 个工作日"),
    teams_file: str | None = Field(None, description="调研组名单：YAML 文件路径（默认 KAOPING_TEAMS_FILE）"),
    today: date | None = Field(None, description="按哪一天推进：补跑、演示用；默认今天（北京时间）"),
) -> str:
    logger = get_run_logger()
    settings = get_settings()
    code = f"{year}H{half}"
    day = (today or datetime.now(settings.tz).date()).isoformat()
    choice = {"self_assessment_deadline": self_assessment_deadline, "self_assessment_workdays": self_assessment_workdays,
              "scoring_workdays": scoring_workdays, "results_workdays": results_workdays, "visit_start": visit_start,
              "visit_end": visit_end, "teams_file": teams_file}
    for note in prepare_cycle(code, choice, day)["notes"]:
        logger.info(note)
    progress = cycle_progress(code, day)

    if progress["next_step"] == "issue":
        for kind in (FormKind.self_assessment, FormKind.third_party, FormKind.opinion):
            logger.info("%(kind)s：%(forms)s 份，邮件 %(queued)s 封", issue_forms(code, kind.value, day))
        send_outbox()
        logger.info("实地调研：%(visits)s 次，邀请 %(queued)s 封", arrange_visits(code))
        logger.info("%(kind)s：%(forms)s 份，邮件 %(queued)s 封", issue_forms(code, FormKind.field_visit.value, day))
        send_outbox()
        progress = cycle_progress(code, day)
    if progress["next_step"] == "lead_sheets":
        logger.info("%(kind)s：%(forms)s 份，邮件 %(queued)s 封", issue_forms(code, FormKind.lead_scoring.value, day))
        send_outbox()
        progress = cycle_progress(code, day)

    while progress["next_step"] in ("verification", "approval"):
        stage = progress["next_step"]
        decision = _sign(code, stage)
        if decision is None:
            break
        progress = cycle_progress(code, day)
        if decision == "reject" and stage == "verification":
            logger.warning("专班未通过核实：修改后重新运行本流程（或等待回收、催报流程自动推进）。")
            break
    if progress["next_step"] == "publish":
        published = publish_reports(code, day)
        logger.info("已印发 %(number)s，分发邮件 %(queued)s 封（%(out_dir)s）", published)
        send_outbox()
        progress = cycle_progress(code, day)
    waiting_for = publish_artifacts(code, day)
    logger.info("%s：%s", code, waiting_for)
    return waiting_for
