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

The flow only orchestrates: its tasks (``tasks.py``) each call one service, and what a
sign-off answer means (which question this is, whether the stage is signed) is decided by
``kaoping.services.signoff``, which runs without Prefect.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import pydantic
from prefect import flow, get_run_logger
from prefect.context import FlowRunContext
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from pydantic import Field

from kaoping.flows.tasks import (
    anchor_artifact,
    arrange_visits,
    cycle_progress,
    issue_forms,
    open_objection_window,
    prepare_cycle,
    publish_artifacts,
    publish_reports,
    record_answer,
    request_code,
    send_outbox,
    signoff_description,
    signoff_state,
)
from kaoping.models import FormKind
from kaoping.settings import get_settings

# --------------------------------------------------------------------------- the flow: the stages of DESIGN §4


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
    accept_default_responsibilities: str | None = Field(
        None, description="承担关系：尚未导入本年度承担清单时，如确定按默认规则（旗县区承担全部指标、市直部门承担其牵头指标）"
                          "计分，请写明理由（记录并在报告中说明）；已导入清单的不必填写"),
    today: date | None = Field(None, description="按哪一天推进：补跑、演示用；默认今天（北京时间）"),
) -> str:
    code = f"{year}H{half}"
    day = (today or datetime.now(get_settings().tz).date()).isoformat()
    progress = prepare(code, day, {
        "self_assessment_deadline": self_assessment_deadline, "self_assessment_workdays": self_assessment_workdays,
        "scoring_workdays": scoring_workdays, "results_workdays": results_workdays, "visit_start": visit_start,
        "visit_end": visit_end, "teams_file": teams_file, "default_responsibilities_reason": accept_default_responsibilities})
    if progress["next_step"] == "issue":
        progress = issue_forms_and_arrange_visits(code, day)
    if progress["next_step"] == "lead_sheets":
        progress = issue_lead_scoring_sheets(code, day)
    # Returns still outstanding: the run ends here; the intake and reminders flows start the next.
    if progress["next_step"] in ("verification", "approval"):
        progress = verification_and_approval(code, day, progress)
    # The objection stage (异议期, issue 17): after the verification sign-off the units get their provisional
    # 反馈函; the run ends while the window is open, and the daily reminders start the next when it has closed.
    if progress["next_step"] == "objections":
        progress = send_provisional_letters(code, day)
    if progress["next_step"] == "publish":
        progress = publish_and_distribute(code, day)
    return show_where_it_stands(code, day)


# --------------------------------------------------------------------------- the stages


def prepare(code: str, day: str, choice: dict) -> dict:
    """Open the cycle (开启周期) and fix its dates; then where it stands."""
    logger = get_run_logger()
    for note in prepare_cycle(code, choice, day)["notes"]:
        logger.info(note)
    return cycle_progress(code, day)


def issue_forms_and_arrange_visits(code: str, day: str) -> dict:
    """The self-assessment forms, the third-party and opinion requests; the field visits, their
    invitations and visit records (实地调研)."""
    logger = get_run_logger()
    for kind in (FormKind.self_assessment, FormKind.third_party, FormKind.opinion):
        logger.info("%(kind)s：%(forms)s 份，邮件 %(queued)s 封", issue_forms(code, kind.value, day))
    send_outbox()
    logger.info("实地调研：%(visits)s 次，邀请 %(queued)s 封", arrange_visits(code))
    logger.info("%(kind)s：%(forms)s 份，邮件 %(queued)s 封", issue_forms(code, FormKind.field_visit.value, day))
    send_outbox()
    return cycle_progress(code, day)


def issue_lead_scoring_sheets(code: str, day: str) -> dict:
    """The lead assessors' scoring sheets (牵头考核单位评分表), once the self-assessments are in
    or their deadline has passed."""
    logger = get_run_logger()
    logger.info("%(kind)s：%(forms)s 份，邮件 %(queued)s 封", issue_forms(code, FormKind.lead_scoring.value, day))
    send_outbox()
    return cycle_progress(code, day)


def verification_and_approval(code: str, day: str, progress: dict) -> dict:
    """The specialist team's verification (专班核实), then the approver's (分管领导审定); an
    approval sent back returns to the verification."""
    logger = get_run_logger()
    while progress["next_step"] in ("verification", "approval"):
        stage = progress["next_step"]
        decision = sign(code, stage)
        if decision is None:
            break
        progress = cycle_progress(code, day)
        if decision == "reject" and stage == "verification":
            logger.warning("专班未通过核实：修改后重新运行本流程（或等待回收、催报流程自动推进）。")
            break
    return progress


def send_provisional_letters(code: str, day: str) -> dict:
    """The provisional 反馈函 (征求意见稿) to every unit: the objection window (异议期) opens (issue 17)."""
    opened = open_objection_window(code, day)
    get_run_logger().info("征求意见稿 %(letters)s 份，邮件 %(queued)s 封；异议期至 %(closes_on)s（含）", opened)
    send_outbox()
    return cycle_progress(code, day)


def publish_and_distribute(code: str, day: str) -> dict:
    """The 通报, the report to the leadership, the feedback letters and the spreadsheet, emailed."""
    logger = get_run_logger()
    published = publish_reports(code, day)
    logger.info("已印发 %(number)s，分发邮件 %(queued)s 封（%(out_dir)s）", published)
    anchor_artifact(code, f"印发 {published['number']}")
    send_outbox()
    return cycle_progress(code, day)


def show_where_it_stands(code: str, day: str) -> str:
    """The cycle's artifacts (stages, returns, late units, results) and what it waits for."""
    waiting_for = publish_artifacts(code, day)
    get_run_logger().info("%s：%s", code, waiting_for)
    return waiting_for


# --------------------------------------------------------------------------- sign-offs in the Prefect UI


class SignoffInput(RunInput):
    code: str = Field("", title="验证码", description="签字人邮箱收到的 6 位一次性验证码（只发给签字人本人）")
    decision: Literal["同意", "退回修改"] = Field("同意", title="意见", description="同意：签字确认；退回修改：须在下面写明意见")
    comments: str = Field("", title="意见说明", description="退回修改时必填，写明需要修改的内容；同意时可留空")


class VerificationInput(SignoffInput):
    confirm_self_scored: bool = Field(
        False, title="同时确认牵头考核单位自评项",
        description="勾选：签字时一并确认各牵头考核单位对本单位承担指标的自评分核实无误（逐项记入审计日志）")


def sign(code: str, stage: str) -> str | None:
    """Ask the designated signer until a valid answer comes; ``None`` if this run cannot ask."""
    logger = get_run_logger()
    context = FlowRunContext.get()
    flow_run_id = str(context.flow_run.id) if context and context.flow_run else ""
    while True:
        state = signoff_state(code, stage)
        if state["done"]:
            return "approve"
        # ---- sign-off by reply (issue 15): sent back by email (or `kaoping signoff give`) while this run
        # waited: stop as a rejection in the dialog does, without a new code; a later run asks again.
        if state["decision"] == "reject" and flow_run_id and state["decision_run"] == flow_run_id:
            logger.warning("签字人已通过邮件回复（或命令行）退回修改：本次运行不再发送验证码。")
            return "reject"
        # ---- end
        if state["blocking"]:
            logger.warning("核实签字前须处理以下问题：\n%s", "\n".join(state["blocking"]))
            return None
        if not state["usable"]:
            who = request_code(code, stage, flow_run_id)
            if who["refused"]:
                logger.warning("暂不能发送新的验证码：%s", who["refused"])
                return None
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
                           "签字人也可直接回复签字邮件签字。", exc)
            return None
        outcome = record_answer(code, stage, answer, problem, flow_run_id)
        if outcome["ok"]:
            logger.info(outcome["message"])
            anchor_artifact(code, f"{stage} 签字：{outcome['decision']}")
            return outcome["decision"]
        logger.warning("签字未生效，重新等待：%s", outcome["message"])
