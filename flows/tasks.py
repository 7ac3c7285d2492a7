"""The tasks of kaoping's flows: each wraps one service call, takes plain values (cycle codes,
stages, ISO dates, ids), opens its own session, does one thing and commits. Nothing here
decides anything: the services do, and they run (and are tested) without Prefect.

The cycle's tasks (``stage_task``) persist their results and retry what may pass next time;
they never answer from a cache, because the database, not a cached result, says what is done.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path

from kaoping.flows.runner import Opaque, fanout
from kaoping.flows.trigger import advance_cycles
from kaoping.models import FormKind
from kaoping.models.types import utcnow
from kaoping.notifications.delivery import send_pending
from kaoping.notifications.mailbox import fetch_mail
from kaoping.notifications.reminders import run_reminders
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from kaoping import db
from kaoping.adapters.prefect_runs import (
    artifact_link,
    release_if_waiting_for,
    release_paused_run,
    run_link,
    smtp_slot,
)
from kaoping.domain.clock import local_time
from kaoping.domain.errors import KaopingError
from kaoping.records import audit
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.objections.summary import objections_markdown
from kaoping.services.reference.workdays import WorkCalendar
from kaoping.services.returns.intake import read_files, receive_path
from kaoping.services.signoff import signatures as signoff
from kaoping.services.stages import steps as stages
from kaoping.services.stages.signoff_view import signoff_view
from kaoping.services.stages.status import cycle_status, results_table
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


def stage_task(name: str, run_name=None):
    # The database is the source of truth: never answer a task from a cached result. Runs are
    # named as the task (the timeline shows "下发表格", not "下发表格-d44").
    return task(name=name, task_run_name=run_name or name, cache_policy=NO_CACHE, persist_result=True, retries=2,
                retry_delay_seconds=5, retry_condition_fn=_not_a_refusal)


def _kind_run_name(parameters: dict) -> str:
    return f"下发{FormKind(parameters['kind']).label}"


def label_of(code: str) -> str:
    """"2022年上半年考评" for 2022H1: how an artifact's description names its cycle."""
    year, half = code.upper().split("H")
    return f"{year}年{'上' if half == '1' else '下'}半年考评"


def cycle_links(code: str) -> dict[str, str]:
    """The cycle's artifacts in the Prefect UI, by key suffix."""
    key = f"kaoping-{code.lower()}"
    return {suffix: artifact_link(f"{key}-{suffix}") for suffix in
            ("jinzhan", "returns", "results", "daihexiao", "audit-anchor")}


# --------------------------------------------------------------------------- shared


@stage_task("发送邮件")
def send_outbox() -> dict:
    """Send what the outbox holds (the cycle after each stage, the scheduled flows after theirs), holding a
    slot of the global concurrency limit ``kaoping-smtp``: the office mailbox sees a bounded number of senders."""
    settings = get_settings()
    with smtp_slot(settings.smtp_senders, settings.smtp_claim_seconds):
        report = send_pending(settings)
    return {"sent": len(report.sent), "failed": len(report.failed), "deferred": len(report.deferred)}


# --------------------------------------------------------------------------- the half-year cycle: stages


@stage_task("开启周期并确定日程")
def prepare_cycle(code: str, choice: dict, today: str) -> dict:
    """``refused``: why the cycle was not opened (nothing stored), in the team's words."""
    settings = get_settings()
    try:
        with db.session_scope(settings) as session:
            prepared = stages.prepare(session, settings, code, stages.PlanChoice(**choice), today=date.fromisoformat(today))
            return {"created": prepared.created, "notes": prepared.notes, "refused": ""}
    except KaopingError as exc:  # a refusal is an answer: the run says it and ends, no traceback
        return {"created": False, "notes": [], "refused": str(exc)}


@stage_task("读取周期进展")
def cycle_progress(code: str, today: str) -> dict:
    settings = get_settings()
    with db.session_scope(settings) as session:
        report = cycle_status(session, get_cycle(session, code), today=date.fromisoformat(today), tz=settings.tz)
        return {"status": str(report.cycle.status), "next_step": report.next_step, "waiting_for": report.waiting_for,
                "opened": local_time(report.cycle.opened_at, settings.tz)[:10]}


@stage_task("下发表格", _kind_run_name)
def issue_forms(code: str, kind: str, today: str) -> dict:
    settings = get_settings()
    with db.session_scope(settings) as session:
        issued = stages.issue(session, settings, get_cycle(session, code), FormKind(kind), today=date.fromisoformat(today),
                              fanout=fanout(f"生成{FormKind(kind).label}", settings))
        return {"kind": FormKind(kind).label, "forms": issued.forms, "queued": issued.queued, "skipped": issued.skipped}


@stage_task("安排实地调研")
def arrange_visits(code: str) -> dict:
    settings = get_settings()
    with db.session_scope(settings) as session:
        return asdict(stages.arrange_visits(session, settings, get_cycle(session, code)))


@stage_task("印发报告并分发")
def publish_reports(code: str, today: str) -> dict:
    settings = get_settings()
    with db.session_scope(settings) as session:
        return asdict(stages.publish(session, settings, get_cycle(session, code), signed=date.fromisoformat(today),
                                     fanout=fanout("生成反馈函", settings)))


@stage_task("发送征求意见稿并开始异议期")
def open_objection_window(code: str, today: str) -> dict:
    """The objection stage (异议期, issue 17): every unit's provisional 反馈函, emailed."""
    from kaoping.services.reports.provisional import open_window

    settings = get_settings()
    with db.session_scope(settings) as session:
        opened = open_window(session, settings, get_cycle(session, code), today=date.fromisoformat(today),
                             fanout=fanout("生成反馈函（征求意见稿）", settings))
        return {"letters": opened.letters, "queued": opened.queued, "closes_on": opened.closes_on.isoformat(),
                "skipped": opened.skipped}


@stage_task("更新进展")
def publish_artifacts(code: str, today: str) -> str:
    """The cycle's artifacts with stable keys: 进展 (``-jinzhan``: stages, dates, returns, late units,
    links), the returns per unit (``-returns``) and, once computable, the results (``-results``)."""
    settings = get_settings()
    key = f"kaoping-{code.lower()}"
    links = cycle_links(code)
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, code)
        report = cycle_status(session, cycle, today=date.fromisoformat(today), tz=settings.tz)
        rows, _ = results_table(session, cycle)
        returns = report.returns_table()
        links.pop("daihexiao")  # linked from the verification dialog, where it is made
        if not rows:
            links.pop("results")
        objections = objections_markdown(session, cycle, settings.tz)  # issue 17: open and decided objections
        markdown = report.markdown(links=links, updated=local_time(utcnow(), settings.tz))
    create_markdown_artifact(key=f"{key}-jinzhan", markdown=markdown, description=f"{label_of(code)}进展（各环节、应收已收、逾期单位）")
    if returns:
        create_table_artifact(key=f"{key}-returns", table=returns, description=f"{label_of(code)}应收与已收表格（按单位、牵头考核单位）")
    create_markdown_artifact(key=f"{key}-objections", markdown=objections, description=f"{label_of(code)}征求意见与异议处理")
    if rows:
        create_table_artifact(key=f"{key}-results", table=rows, description=f"{label_of(code)}结果（按当前数据计算）")
    return report.waiting_for


@task(name="说明未开启的原因", task_run_name="说明未开启的原因", cache_policy=NO_CACHE)
def publish_refusal(code: str, label: str, reason: str) -> None:
    """The 进展 artifact of a run that refused the form: what is wrong and what to do, at the top."""
    settings = get_settings()
    body = [f"# {label}进展（{code}）", "", f"> **本次运行未开启考评**：{reason}", "",
            "请按上面的说明修改后重新开启：Prefect 界面左侧 Deployments → 半年考评 → 右上角 Run → Custom run，"
            "填写后点击 Submit。其余内容不受影响。"]
    try:
        with db.session_scope(settings) as session:
            report = cycle_status(session, get_cycle(session, code), today=utcnow().astimezone(settings.tz).date(), tz=settings.tz)
            body += ["", "---", "", report.markdown(links=cycle_links(code))]
    except KaopingError:
        pass  # not opened yet: nothing more to show
    create_markdown_artifact(key=f"kaoping-{code.lower()}-jinzhan", markdown="\n".join(body),
                             description=f"{label_of(code)}进展（本次运行未开启）")


# --------------------------------------------------------------------------- the half-year cycle: sign-offs


@stage_task("签字准备", "查看签字状态")
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


@stage_task("签字说明")
def signoff_description(code: str, stage: str) -> dict:
    """What the Resume dialog shows (``markdown``), whether the previous answer failed (``again``);
    the self-scored items awaiting confirmation go to the 待核实清单 artifact it links to."""
    settings = get_settings()
    links = cycle_links(code)
    with db.session_scope(settings) as session:
        view = signoff_view(session, get_cycle(session, code), stage, settings.tz,
                            today=utcnow().astimezone(settings.tz).date(), links=links)
    markdown = view.markdown
    if view.pending:
        made = create_table_artifact(key=f"kaoping-{code.lower()}-daihexiao", table=view.pending,
                                     description=f"{label_of(code)}待核实清单：牵头考核单位本单位自评项")
        if made and links.get("daihexiao"):  # the dialog links the version made just now, not the one before
            fresh = links["daihexiao"].rsplit("/artifacts/", 1)[0] + f"/artifacts/artifact/{made}"
            markdown = markdown.replace(f"]({links['daihexiao']})", f"]({fresh})")
    return {"markdown": markdown, "again": view.again, "reason": view.reason}


@stage_task("核对签字")
def record_answer(code: str, stage: str, answer: dict | None, problem: str, flow_run_id: str) -> dict:
    settings = get_settings()
    with db.session_scope(settings) as session:
        outcome = signoff.record_answer(session, settings, cycle_code=code, stage=stage, problem=problem,
                                        answer=None if answer is None else signoff.SignoffAnswer.from_form(answer),
                                        actor=f"Prefect 运行 {flow_run_id}", link=run_link(flow_run_id))
        return {"ok": outcome.ok, "message": outcome.message, "decision": outcome.decision}


@task(name="审计锚点", task_run_name="审计锚点", cache_policy=NO_CACHE)
def anchor_artifact(code: str, why: str) -> str:
    """The audit head after a sign-off or publication, as a Prefect artifact: kept by the Prefect
    server, outside kaoping's database (``kaoping audit verify`` checks the log against such anchors).
    Written for the 专班: what it proves, in words; the signature itself at the end, for whoever checks."""
    settings = get_settings()
    with db.session_scope(settings) as session:
        seq, seal = audit.head(session)
    label = f"{seq}:{seal}"
    now = local_time(utcnow(), settings.tz)
    create_markdown_artifact(
        key=f"kaoping-{code.lower()}-audit-anchor",
        description=f"{label_of(code)}审计锚点（{why}）",
        markdown=f"# {label_of(code)} · 审计锚点\n\n"
                 f"**{now}，{why}之后**，系统的审计日志共有 **{seq}** 条记录（每次开启、下发、录入、评分、签字、印发都记一条）。\n\n"
                 "**这页证明什么**：这份记录保存在 Prefect 服务器上，与考评数据库分开。日后如有人改动或删除数据库中"
                 f"第 {seq} 条及以前的任何记录，系统管理员核对时就会发现与这里不符。专班无需操作，保留即可。\n\n"
                 # One line of HTML: the UI's markdown renders it as one block, a fold the 专班 need not open.
                 f"<details><summary>供系统管理员核对（点击展开）</summary><p>锚点（序号:签名）：</p>"
                 f"<p><code>{label}</code></p></details>",
    )
    return label


# --------------------------------------------------------------------------- the scheduled flows


@task(name="催报提醒", task_run_name="催报提醒")
def queue_reminders(today: str) -> dict:
    settings = get_settings()
    with db.session_scope(settings) as session:
        run = run_reminders(session, settings, today=date.fromisoformat(today))
    return {"workday": run.workday, "reminders": run.reminders, "overdue": run.overdue,
            "escalations": run.escalations, "queued": run.queued, "anchor_mailed": bool(run.anchor)}


@task(name="签字提醒", task_run_name="签字提醒")
def remind_signers(today: str) -> dict:
    settings = get_settings()
    with db.session_scope(settings) as session:
        done = signoff.remind_signers(session, settings, today=date.fromisoformat(today),
                                      calendar=WorkCalendar.load(session),
                                      link_of=lambda request: run_link(request.flow_run_id))
    return {"signers_reminded": done.reminded, "codes_renewed": done.renewed}


@task(name="继续已签字的运行", task_run_name="继续已签字的运行", cache_policy=NO_CACHE)
def release_signed_runs() -> list[str]:
    """A run still paused for a signature already given (by reply or `kaoping signoff give`, the
    process stopped before releasing it): let it go on. Looks back 14 days; one line per run released."""
    settings = get_settings()
    with db.session_scope(settings) as session:
        decided = signoff.decided_since(session, utcnow() - timedelta(days=14))
    released = []
    for run_id, stage, code in decided:
        said = release_if_waiting_for(run_id, stage, how="签字已生效，由每日推进继续")
        if said:
            released.append(f"{code} {signoff.STAGES[stage]}：{said}")
    return released


@task(name="推进考评周期", task_run_name="推进考评周期")
def advance(today: str | None, reason: str) -> list[str]:
    settings = get_settings()
    return advance_cycles(settings, today=date.fromisoformat(today) if today else None, reason=reason)


@task(name="回收一个文件", task_run_name="回收一个文件", cache_policy=NO_CACHE)
def receive_one(path: str, sender: str, received_at: str | None = None, read: Opaque | None = None) -> dict:
    """Record one returned file, keep it as refused or hold it for the team; queue the receipt or
    the reason (never to a sender who is held). ``read``: what ``read_inbox`` found in it on Dask."""
    outcome = receive_path(get_settings(), Path(path), sender=sender, actor="flow:intake", channel="inbox",
                           received_at=datetime.fromisoformat(received_at) if received_at else None,
                           read=read.value if read is not None else None)
    if not outcome.accepted:
        return {"file": Path(path).name, "accepted": False, "held": outcome.held, "reason": outcome.reason}
    result = outcome.result
    return {"file": Path(path).name, "accepted": True, "held": False, "form_no": result.form_no,
            "summary": result.summary, "late": result.late}


@task(name="识别交回的文件", task_run_name="识别交回的文件", cache_policy=NO_CACHE)
def read_inbox(paths: list[str]) -> dict[str, Opaque]:
    """The pure part of the intake of many files (issue 29): each recognised and its tables read on the flow's
    task runner; the recording stays with ``receive_one``, one file and one transaction at a time."""
    reads = read_files([Path(p) for p in paths], fanout=fanout("识别交回的文件"), channel="inbox")
    return {str(path): Opaque(read) for path, read in reads.items()}


@task(name="收取专用邮箱", cache_policy=NO_CACHE)
def fetch_mailbox() -> dict:
    """Take in what waits in the office mailbox (IMAP): each message recorded first, its forms taken
    in with its sender, then moved to the processed or refused folder. A refusal (the mailbox cannot
    be reached) fails the task: the messages stay in the mailbox for the next run."""
    report = fetch_mail(get_settings())
    for m in report.messages:
        if m.release_run:  # a signature by reply: the run that waited for it goes on
            m.summary += "；" + (release_paused_run(m.release_run, how="已通过邮件回复签字") or "没有等待签字的运行")
    return {"waiting": report.waiting, "busy": report.busy, "interrupted": report.interrupted,
            "messages": [{"sender": m.sender, "subject": m.subject, "outcome": m.outcome, "summary": m.summary,
                          "folder": m.folder, "files": m.files,
                          "received_at": m.received_at.isoformat() if m.received_at else None} for m in report.messages]}
