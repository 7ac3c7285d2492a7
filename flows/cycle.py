"""The half-year cycle (半年考评) as one Prefect flow, started from the Prefect UI.

It runs every stage of the cycle (docs/cycle.md) that needs no person: it opens the cycle and fixes its
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
``kaoping.services.signoff.signatures``, which runs without Prefect.
"""

from __future__ import annotations

import logging
from kaoping.models.types import utcnow

from kaoping.flows.forms import CycleStart
from kaoping.flows.runner import configured_task_runner
from kaoping.flows.signing import sign
from kaoping.flows.tasks import (
    anchor_artifact,
    arrange_visits,
    cycle_progress,
    issue_forms,
    open_objection_window,
    prepare_cycle,
    publish_artifacts,
    publish_refusal,
    publish_reports,
    send_outbox,
)
from kaoping.models import FormKind
from prefect import flow, get_run_logger
from prefect.context import FlowRunContext
from prefect.states import Failed
from pydantic import Field

from kaoping.services.visits.schedule import split_names
from kaoping.settings import get_settings


def run_name() -> str:
    """"2022年上半年考评 · 开启"; a run started by the intake or reminders flow keeps the name it was
    given ("2022年上半年考评 · 收到交回的表格"), also when it resumes after a sign-off."""
    context = FlowRunContext.get()
    given = (context.parameters or {}).get("start") if context else None
    try:
        start = given if isinstance(given, CycleStart) else CycleStart.model_validate(given or {})
    except ValueError:
        return "半年考评"
    current = context.flow_run.name if context and context.flow_run else ""
    return current if current.startswith(f"{start.label} · ") else f"{start.label} · 开启"


# --------------------------------------------------------------------------- the flow: the stages of the cycle (docs/cycle.md)


#: The state name of a run that opened nothing: its form was refused, or the cycle was open already.
REFUSED = "未开启"
#: The start of every refusal's message (the state message the run page shows).
REFUSAL_PREFIX = "未能开启"


class _RefusalIsNotACrash(logging.Filter):
    """A refused start ends Failed (red, named 未开启, the reason as its message): Prefect's engine then
    raises the state's exception and logs it, with a Python traceback, into the run's log ("Engine
    execution exited with unexpected exception"), where the team reads it. This drops that one line
    for a refusal of ours (its exception carries the refusal's message); any other failure is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (exc is not None and record.getMessage().startswith("Engine execution exited")
                    and str(exc).startswith(REFUSAL_PREFIX))


def _quiet_refusals() -> None:
    """The filter on the run's logger, once (at import, and again before a refusal: a worker that set up
    its logging after importing this module has it too)."""
    logger = logging.getLogger("prefect.flow_runs")
    if not any(isinstance(f, _RefusalIsNotACrash) for f in logger.filters):
        logger.addFilter(_RefusalIsNotACrash())


_quiet_refusals()


def refused(label: str, reason: str) -> Failed:
    _quiet_refusals()
    return Failed(name=REFUSED, message=f"{REFUSAL_PREFIX}{label}：{reason}")


def started_by_hand(start: CycleStart) -> bool:
    """This run is a person's start from the form (named "… · 开启", see ``run_name``), not one the intake or
    reminders flow started, and not a resumed one (after a sign-off it starts again from the top)."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None or context.flow_run.name != f"{start.label} · 开启":
        return False
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            states = client.read_flow_run_states(context.flow_run.id)
    except Exception:  # noqa: BLE001 - not on a server (a test calling the flow): a start by hand
        return True
    return not any(state.is_paused() for state in states)


def live_run_besides_this(start: CycleStart) -> str:
    """Another live run of this cycle's deployment (e.g. one waiting for a signature), by name and state."""
    from kaoping.adapters.prefect_runs import other_live_run

    context = FlowRunContext.get()
    return other_live_run(context.flow_run.id, start.year, start.half_number) if context and context.flow_run else ""


@flow(name="半年考评", flow_run_name=run_name, persist_result=True, task_runner=configured_task_runner(),
      description="半年考评全流程：开启周期、下发自评表、催报回收、评分表、实地调研、第三方评估和民意调查、"
                  "专班核实签字、分管领导审定、印发报告并分发。已开启的周期由回收、催报流程自动推进，不必再次开启。")
def half_year_cycle(
    start: CycleStart = Field(..., json_schema_extra={"title": "开启半年考评", "description": "填写年度和半年即可开启；"
                              "其余各项留空或保留默认值时按工作日自动计算。每项说明见各栏下方。"}),
):
    code = start.code
    day = (start.today or utcnow().astimezone(get_settings().tz).date()).isoformat()
    refusal = "；".join(start.problems())
    prepared: dict = {}
    if not refusal:
        prepared = prepare(code, day, {
            "self_assessment_deadline": start.self_assessment_deadline,
            "self_assessment_workdays": start.self_assessment_workdays, "scoring_workdays": start.scoring_workdays,
            "results_workdays": start.results_workdays, "visit_start": start.visit_start, "visit_end": start.visit_end,
            "visit_early_reason": start.visit_early_reason,
            "teams": split_names(start.teams), "default_responsibilities_reason": start.accept_default_responsibilities})
        refusal = prepared.get("refused", "")
    if refusal:
        # A refusal is the answer: said in the log, on the 进展 artifact and as the run's state — Failed, named
        # 未开启, the reason as its message (the run page shows both); nothing was opened or changed.
        get_run_logger().error("%s%s：%s", REFUSAL_PREFIX, start.label, refusal)
        publish_refusal(code, start.label, refusal)
        return refused(start.label, refusal)
    progress = cycle_progress(code, day)
    if not prepared["created"] and started_by_hand(start):
        # Started again from the form while the cycle is open (or over): if it has nothing to do now, or another
        # run of it is under way (waiting for a signature), say so, in red, and do nothing.
        other = "" if progress["next_step"] in ("plan", "wait", "done") else live_run_besides_this(start)
        if other or progress["next_step"] in ("plan", "wait", "done"):
            now = (f"另一次运行“{other}”正在进行" if other else "并已结束（报告已印发并分发）" if progress["next_step"] == "done"
                   else f"现在{progress['waiting_for'].rstrip('。')}")
            again = (f"本考评已于 {progress['opened']} 开启，{now}。本次运行未做任何操作：已开启的周期由收件录入、"
                     "每日催报流程自动推进，不必再次开启。")
            get_run_logger().warning("%s%s：%s", REFUSAL_PREFIX, start.label, again)
            return refused(start.label, again)
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
    """Open the cycle (开启周期) and fix its dates, or say why not."""
    logger = get_run_logger()
    prepared = prepare_cycle(code, choice, day)
    for note in prepared["notes"]:
        logger.info(note)
    return prepared


def issue_forms_and_arrange_visits(code: str, day: str) -> dict:
    """The self-assessment forms, the third-party and opinion requests; the field visits and their
    invitations (实地调研; the visit record forms follow the returns)."""
    logger = get_run_logger()
    for kind in (FormKind.self_assessment, FormKind.third_party, FormKind.opinion):
        logger.info("%(kind)s：%(forms)s 份，邮件 %(queued)s 封", issue_forms(code, kind.value, day))
    send_outbox()
    logger.info("实地调研：%(visits)s 次，邀请 %(queued)s 封", arrange_visits(code))
    send_outbox()
    return cycle_progress(code, day)


def issue_lead_scoring_sheets(code: str, day: str) -> dict:
    """The lead assessors' scoring sheets (牵头考核单位评分表) and the visit record forms
    (实地调研记录表), once the self-assessments are in or their deadline has passed: both copy what
    the units reported."""
    logger = get_run_logger()
    # The visit record forms too: each lists what the unit reported, for the team to check on site (办法三(一)).
    for kind in (FormKind.lead_scoring, FormKind.field_visit):
        logger.info("%(kind)s：%(forms)s 份，邮件 %(queued)s 封", issue_forms(code, kind.value, day))
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
    logger.info("已印发 %(number)s，分发邮件 %(queued)s 封", published)
    anchor_artifact(code, f"印发 {published['number']}")
    send_outbox()
    return cycle_progress(code, day)


def show_where_it_stands(code: str, day: str) -> str:
    """The cycle's artifacts (stages, returns, late units, results) and what it waits for."""
    waiting_for = publish_artifacts(code, day)
    get_run_logger().info("%s：%s", code, waiting_for)
    return waiting_for
