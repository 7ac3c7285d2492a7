"""Sign-offs with proof of who signs (签字确认).

Open-source Prefect has no users, so kaoping proves identity itself: a sign-off is requested
by emailing a one-time code only to the designated signer (the specialist team's head for
verification, the 分管领导 for approval); the sign-off carries that code. Codes are stored
as an HMAC under the deployment's secret, expire, are used once, and lock after five wrong
tries. Every request, wrong code and decision is written to the audit log. A rejection with
comments sends the cycle back to verification.

The Prefect sign-off (a RunInput in the UI) and the CLI (`kaoping signoff give`) both call
``give_signoff``; a wrong code is an answer, not an exception, so a flow can ask again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, update
from sqlmodel import Session, func, select

from kaoping.domain.clock import chinese_time, local_date
from kaoping.domain.errors import Conflict, InvalidInput
from kaoping.models import Cycle, CycleStatus, SignoffRequest
from kaoping.models.types import utcnow
from kaoping.notifications.outbox import queue
from kaoping.notifications.render import render, when
from kaoping.records import audit
from kaoping.services.cycles.cycle import cycle_label, get_cycle, set_status
from kaoping.services.reports.placeholders import filled
from kaoping.settings import Settings

STAGES = {"verification": "专班核实", "approval": "分管领导审定"}
MAX_WRONG = 5


def _digest(settings: Settings, request_id: int, code: str) -> str:
    key = settings.secret_key.get_secret_value().encode("utf-8")
    return hmac.new(key, f"{request_id}:{code}".encode(), hashlib.sha256).hexdigest()


def normalize_code(text: str) -> str:
    """What the signer typed, as ASCII digits: full-width digits (２３５７２８, what a Chinese input
    method gives), spaces, full-width spaces and dashes are folded or dropped."""
    folded = unicodedata.normalize("NFKC", str(text or ""))
    return re.sub(r"[\s\-_.·—–]", "", folded)


def _signer(settings: Settings, stage: str) -> tuple[str, str]:
    if stage == "verification":
        return settings.verifier_name, settings.verifier_email
    return settings.approver_name, settings.approver_email


def blocking_problems(session: Session, cycle: Cycle, *, self_scored_ok: bool = False) -> list[str]:
    """What stops the verification sign-off. Unconfirmed self-scored items (牵头考核单位自评项)
    may be left to the signer, who confirms them with the signature (``self_scored_ok``)."""
    from kaoping.services.cycles.points import default_points_problems
    from kaoping.services.scoring.results import problems_of

    return (default_points_problems(session, cycle)
            + problems_of(session, cycle, ignore=frozenset({"unverified_self_score"} if self_scored_ok else ())))


def pending_self_scored(session: Session, cycle: Cycle) -> int:
    from kaoping.domain.scoring import check
    from kaoping.services.scoring.results import gather_inputs

    return sum(1 for p in check(gather_inputs(session, cycle)) if p.kind == "unverified_self_score")


def _check_stage(session: Session, cycle: Cycle, stage: str) -> None:
    if stage not in STAGES:
        raise InvalidInput(f"环节“{stage}”无效：应为 verification（专班核实）或 approval（分管领导审定）。")
    if stage == "verification":
        if cycle.status != CycleStatus.open:
            raise Conflict(f"{cycle.code} 当前为“{CycleStatus(cycle.status).label}”，不在核实环节。")
        problems = blocking_problems(session, cycle, self_scored_ok=True)
        if problems:
            raise InvalidInput(f"{cycle.code} 还有 {len(problems)} 个问题未解决，不能提请核实签字：", problems)
    elif cycle.status != CycleStatus.verified:
        raise Conflict(f"{cycle.code} 当前为“{CycleStatus(cycle.status).label}”：须先完成专班核实签字，才能提请审定。")
    else:  # the objection stage (异议期, issue 17): the window closed and every objection decided
        from kaoping.services.objections.window import approval_blockers

        blockers = approval_blockers(session, cycle)
        if blockers:
            raise Conflict(f"{cycle.code} 暂不能提请分管领导审定：{blockers[0]}", blockers[1:])


#: Signing on the web page, said after signing by reply (the link: PREFECT_UI_URL's page of the waiting run).
def request_signoff(session: Session, settings: Settings, cycle: Cycle, stage: str, *, actor: str,
                    summary: str = "") -> tuple[SignoffRequest, str]:
    """Email a fresh one-time code to the designated signer; returns the request and the code
    (the code is returned for the demo and tests only — it is stored as an HMAC, and the email
    waits in the outbox with the code sealed)."""
    _check_stage(session, cycle, stage)
    now = utcnow()
    recent = session.exec(select(SignoffRequest.created_at).where(
        SignoffRequest.cycle_id == cycle.id, SignoffRequest.stage == stage,
        SignoffRequest.created_at > now - timedelta(hours=24)).order_by(SignoffRequest.created_at)).all()
    if len(recent) >= settings.signoff_requests_per_day:
        again = chinese_time(recent[0] + timedelta(hours=24), settings.tz)
        raise Conflict(f"{cycle.code} 的“{STAGES[stage]}”24 小时内已提请 {len(recent)} 次（上限 "
                       f"{settings.signoff_requests_per_day} 次）：请使用已发出的最新验证码，或于 {again} 后再提请。"
                       f" / Too many sign-off requests for this stage today.")
    carried = 0
    for old in session.exec(select(SignoffRequest).where(SignoffRequest.cycle_id == cycle.id, SignoffRequest.stage == stage,
                                                         SignoffRequest.status == "pending")):
        carried = max(carried, old.wrong_attempts)  # a new code does not give new tries
        old.status = "superseded"
        session.add(old)
    if carried >= MAX_WRONG:
        carried = MAX_WRONG - 1
    name, email = _signer(settings, stage)
    request = SignoffRequest(cycle_id=cycle.id, stage=stage, signer_name=name, signer_email=email, code_hmac="",
                             expires_at=now + timedelta(hours=settings.signoff_code_hours), wrong_attempts=carried)
    session.add(request)
    session.flush()
    code = f"{secrets.randbelow(10**6):06d}"
    request.code_hmac = _digest(settings, request.id, code)
    session.add(request)
    # The verifier gets every lead assessor's own items listed (办法三(二), issue 27): attached and summed up.
    attachments, checklist_text = [], ""
    if stage == "verification":
        from kaoping.notifications.outbox import Attachment
        from kaoping.services.scoring.checklist import CHECKLIST_NAME, checklist, checklist_summary, checklist_xlsx

        groups = checklist(session, cycle)
        if groups:
            name_of_file = f"{cycle_label(cycle)}{CHECKLIST_NAME}.xlsx"
            attachments = [Attachment(name_of_file, checklist_xlsx(groups, title=f"{cycle_label(cycle)}{CHECKLIST_NAME}"))]
            checklist_text = checklist_summary(groups)
    from kaoping.services.signoff.brief import signoff_brief

    brief = signoff_brief(session, settings, cycle, stage, actor=actor)
    rendered = render("signoff_request", settings, greeting=name, period=cycle_label(cycle), stage=STAGES[stage], code=code,
                      checklist=checklist_text, valid_until=when(request.expires_at, settings), brief=brief.lines,
                      summary=summary or in_the_ui("", cycle_label(cycle)))
    audit.append(session, actor=actor, action=f"signoff.request.{stage}", entity=f"cycle:{cycle.code}", cycle_code=cycle.code,
                 after={"signer": f"{name} <{email}>", "expires_at": request.expires_at, "request": request.id},
                 reason=f"提请{STAGES[stage]}")
    # Queued after the entry, so the email anchors the audit head including this request.
    queue(session, settings, key=f"signoff:{cycle.code}:{stage}:{request.id}", kind="signoff_request", to=[email],
          subject=rendered.subject, text=rendered.text, html=rendered.html, cycle_code=cycle.code, secret=code,
          attachments=[*brief.attachments, *attachments])
    return request, code


def is_code_of(settings: Settings, request: SignoffRequest, code: str) -> bool:
    """Whether ``code`` is the one emailed for ``request``, whatever its status: a code that was
    replaced by a newer one (or already used) is told apart from a wrong one, and costs no try."""
    return hmac.compare_digest(_digest(settings, request.id, normalize_code(code)), request.code_hmac)


@dataclass
class SignoffOutcome:
    ok: bool
    message: str
    decision: str = ""
    spent: bool = False  # the right code came with an answer that could not be taken: the code is void now


#: What a signer is told when the right code came with an answer that could not be taken.
SPENT = ("验证码正确，但这次签字没有生效，该验证码已作废（提交过的验证码不能再用）：新的验证码将发到签字人邮箱，"
         "请用新的验证码重新签字。")


def decided_since(session: Session, since: datetime) -> list[tuple[str, str, str]]:
    """(flow run id, stage, cycle code) of each sign-off decided since ``since`` by a run that
    waited for it: a run may still wait if the process that recorded a signature by reply (or
    `kaoping signoff give`) stopped before it could let the run go on."""
    rows = session.exec(select(SignoffRequest.flow_run_id, SignoffRequest.stage, Cycle.code)
                        .join(Cycle, Cycle.id == SignoffRequest.cycle_id)
                        .where(SignoffRequest.decision != "", SignoffRequest.flow_run_id != "",
                               SignoffRequest.decided_at >= since)
                        .order_by(SignoffRequest.decided_at)).all()
    return list(dict.fromkeys((run, stage, code) for run, stage, code in rows))


def pending_request(session: Session, cycle: Cycle, stage: str) -> SignoffRequest | None:
    return session.exec(select(SignoffRequest).where(SignoffRequest.cycle_id == cycle.id, SignoffRequest.stage == stage,
                                                     SignoffRequest.status == "pending")
                        .order_by(SignoffRequest.id.desc())).first()


def spend(session: Session, request: SignoffRequest, *, actor: str, reason: str, evidence: dict | None = None) -> None:
    """Void a pending code that was seen but did not sign (status ``spent``), audited: a code that has
    been submitted, quoted in a refused reply or exposed anywhere is never valid again."""
    table = SignoffRequest.__table__
    session.execute(update(table).where(table.c.id == request.id, table.c.status == "pending").values(status="spent"))
    session.expire(request)
    cycle = session.get(Cycle, request.cycle_id)
    audit.append(session, actor=actor[:64], action=f"signoff.code_spent.{request.stage}", entity=f"cycle:{cycle.code}",
                 cycle_code=cycle.code, after={"request": request.id, **(evidence or {})}, reason=reason)


def spend_exposed(session: Session, settings: Settings, text: str, *, actor: str, reason: str,
                  evidence: dict | None = None) -> list[SignoffRequest]:
    """Every pending code that appears in ``text`` (any 6-digit number in it, full-width digits folded),
    spent: a code read anywhere but in the signature it was sent for must not stay valid."""
    numbers = set(re.findall(r"(?<![0-9])[0-9]{3}[ \-]?[0-9]{3}(?![0-9])", unicodedata.normalize("NFKC", text or "")))
    if not numbers:
        return []
    spent = []
    for request in session.exec(select(SignoffRequest).where(SignoffRequest.status == "pending")).all():
        if any(is_code_of(settings, request, number) for number in numbers):
            spend(session, request, actor=actor, reason=reason, evidence=evidence)
            spent.append(request)
    return spent


def _take_try(session: Session, settings: Settings, cycle: Cycle, stage: str, request: SignoffRequest, code: str, *,
              actor: str, evidence: dict) -> SignoffOutcome | None:
    """Check the code, counting the try atomically: one UPDATE … RETURNING holds the row (PostgreSQL) or
    the write lock (SQLite) until the commit, so parallel answers are counted one after another. ``None``
    for the right code (its try given back, and the lock if this was the fifth), else the refusal."""
    table = SignoffRequest.__table__
    taken = session.execute(
        update(table).where(table.c.id == request.id, table.c.status == "pending", table.c.wrong_attempts < MAX_WRONG)
        .values(wrong_attempts=table.c.wrong_attempts + 1,
                status=case((table.c.wrong_attempts + 1 >= MAX_WRONG, "locked"), else_=table.c.status))
        .returning(table.c.wrong_attempts)).first()
    if taken is None:
        session.expire(request)
        return SignoffOutcome(False, f"验证码已连续 {MAX_WRONG} 次不正确（或已被使用），本次签字请求已作废：请重新提请签字。")
    tries = taken[0]
    if not hmac.compare_digest(_digest(settings, request.id, code), request.code_hmac):
        session.expire(request)
        audit.append(session, actor=actor, action=f"signoff.wrong_code.{stage}", entity=f"cycle:{cycle.code}",
                     cycle_code=cycle.code, after={"request": request.id, "wrong_attempts": tries, **evidence},
                     reason="验证码不正确")
        if tries >= MAX_WRONG:
            return SignoffOutcome(False, f"验证码连续 {MAX_WRONG} 次不正确，本次签字请求已作废：请重新提请签字。")
        return SignoffOutcome(False, f"验证码不正确（还可再试 {MAX_WRONG - tries} 次）：请核对邮件中的 6 位数字。")
    session.execute(update(table).where(table.c.id == request.id)
                    .values(wrong_attempts=table.c.wrong_attempts - 1, status="pending"))
    session.expire(request)
    return None


def _lacking(session: Session, cycle: Cycle, stage: str, *, approve: bool, comments: str,
             confirm_self_scored: bool, confirm_groups: list[str] | None = None) -> str:
    """What the answer lacks for the decision it gives ("" when it can be recorded)."""
    if not approve and not comments.strip():
        return "退回修改须写明意见说明，以便专班据此修改"
    if approve and stage == "verification" and confirm_groups and not confirm_self_scored:
        from kaoping.domain.errors import KaopingError
        from kaoping.services.scoring.checklist import checklist, resolve_groups

        groups = checklist(session, cycle)
        try:
            named = set(resolve_groups(groups, confirm_groups))
        except KaopingError as exc:
            return str(exc.message).rstrip("。")
        left = {lead: sum(1 for i in items if i.status in ("待核实", "需重新核实"))
                for lead, items in groups.items() if lead not in named}
        left = {lead: n for lead, n in left.items() if n}
        if left:
            return ("以下牵头考核单位的自评项未确认，仍为待核实：" + "、".join(f"{lead} {n} 项" for lead, n in left.items())
                    + "。请核实后一并确认（或由专班逐项核实）")
        problems = blocking_problems(session, cycle, self_scored_ok=True)
        return f"{cycle.code} 又出现 {len(problems)} 个问题（如新录入的分数），暂不能签字：{problems[0]}" if problems else ""
    if approve and stage == "verification":
        problems = blocking_problems(session, cycle, self_scored_ok=confirm_self_scored)
        if problems and not confirm_self_scored and not blocking_problems(session, cycle, self_scored_ok=True):
            return (f"还有 {len(problems)} 项牵头考核单位自评项未核实（未确认的仍为待核实）：签字时须同时确认自评项（在签字对话框中打开"
                    "“同时确认牵头考核单位自评项”或填写要确认的牵头考核单位，或回复“同意，并确认自评项”）")
        if problems:
            return f"{cycle.code} 又出现 {len(problems)} 个问题（如新录入的分数），暂不能签字：{problems[0]}"
    return ""


def give_signoff(session: Session, settings: Settings, cycle: Cycle, stage: str, *, code: str, approve: bool,
                 comments: str = "", actor: str, now: datetime | None = None,
                 confirm_self_scored: bool = False, evidence: dict | None = None,
                 confirm_groups: list[str] | None = None) -> SignoffOutcome:
    """Check the code and record the decision. Wrong input is reported, never raised, so the
    caller can ask again; the caller commits either way (wrong tries are counted, a code spent).
    The right code with an answer that cannot be taken (退回修改 without 意见, the verification
    while items still need confirming) is spent all the same: no one can submit it again.
    ``confirm_self_scored``: the verifier confirms the lead assessors' self-scored items with
    the signature (each confirmation audited under the signer's name). ``evidence``: how the
    answer came, added to the audit entries (a reply by email: its Message-ID and sender)."""
    evidence = evidence or {}
    now = now or utcnow()
    request = pending_request(session, cycle, stage)
    if request is None:
        return SignoffOutcome(False, f"{cycle.code} 没有待签的“{STAGES.get(stage, stage)}”：请先提请签字（kaoping signoff request）。")
    if now > request.expires_at:
        return SignoffOutcome(False, "验证码已过期：请重新提请签字，系统会发送新的验证码。")
    code = normalize_code(code)
    if not code:
        return SignoffOutcome(False, "未填写验证码：请填写签字人邮件中的 6 位验证码。")
    if not re.fullmatch(r"[0-9]{6}", code):  # a typing slip, not a guess: no try is used (and what was typed is not echoed)
        return SignoffOutcome(False, f"验证码应为 6 位数字（填写的有 {len(code)} 个字符）：请核对邮件中的验证码后重新填写，本次不计入错误次数。")
    refused = _take_try(session, settings, cycle, stage, request, code, actor=actor, evidence=evidence)
    if refused is not None:
        return refused
    request = session.get(SignoffRequest, request.id)
    lacking = _lacking(session, cycle, stage, approve=approve, comments=comments, confirm_self_scored=confirm_self_scored,
                       confirm_groups=confirm_groups)
    if lacking:
        spend(session, request, actor=actor, reason=f"签字未生效：{lacking}", evidence=evidence)
        return SignoffOutcome(False, f"{lacking}。{SPENT}", spent=True)
    return _record_decision(session, settings, cycle, stage, request, approve=approve, comments=comments, actor=actor,
                            now=now, confirm_self_scored=confirm_self_scored, evidence=evidence,
                            confirm_groups=confirm_groups)


def _how(actor: str) -> str:
    """How a signature came, in the words the records keep (issue 27: what, who, when and how)."""
    if actor.startswith("mail:"):
        return "核实签字人回复签字邮件时确认"
    if actor.startswith("cli"):
        return "核实签字人以命令行签字时确认"
    return "核实签字人在签字对话框中确认"


def _record_decision(session: Session, settings: Settings, cycle: Cycle, stage: str, request: SignoffRequest, *,
                     approve: bool, comments: str, actor: str, now: datetime, confirm_self_scored: bool,
                     evidence: dict, confirm_groups: list[str] | None = None) -> SignoffOutcome:
    request.status, request.decision, request.comments, request.decided_at = "used", "approve" if approve else "reject", comments, now
    session.add(request)
    signer = f"{request.signer_name} <{request.signer_email}>"[:64]  # audit actors are at most 64 characters
    if approve and stage == "verification" and (confirm_self_scored or confirm_groups):
        from kaoping.services.scoring.checklist import checklist
        from kaoping.services.scoring.checklist import confirm_groups as confirm_listed_groups

        # Every lead assessor's items as listed to the verifier (the toggle), or the groups named: each item
        # recorded with its group and how it was confirmed — never as 逐项核实.
        leads = list(checklist(session, cycle)) if confirm_self_scored else list(confirm_groups or [])
        confirm_listed_groups(session, cycle, leads, actor=signer, how=_how(actor))
    audit.append(session, actor=signer, action=f"signoff.{request.decision}.{stage}",
                 entity=f"cycle:{cycle.code}", cycle_code=cycle.code,
                 after={"request": request.id, "decision": request.decision, "comments": comments, "via": actor,
                        **evidence},
                 reason=comments or f"{STAGES[stage]}通过")
    if approve:
        target = CycleStatus.verified if stage == "verification" else CycleStatus.approved
        set_status(session, cycle, target, actor=signer, reason=f"{STAGES[stage]}签字", action=f"cycle.{target.value}")
        audit.record_anchor(session, settings, f"signoff.approve.{stage}:{cycle.code}")
        return SignoffOutcome(True, f"{request.signer_name}已完成{STAGES[stage]}签字。", "approve")
    if cycle.status != CycleStatus.open:
        set_status(session, cycle, CycleStatus.open, actor=signer, reason=f"退回修改：{comments}", action="cycle.rejected")
    audit.record_anchor(session, settings, f"signoff.reject.{stage}:{cycle.code}")
    return SignoffOutcome(True, f"{request.signer_name}已退回，周期回到核实环节。意见：{comments}", "reject")


# --------------------------------------------------------------------------- answers given in the Prefect UI
# The cycle flow asks the signer with a resume form (suspend_flow_run) and starts again from
# the top when answered; these functions are what it asks the database on each pass.

_SIGNED = {"verification": (CycleStatus.verified, CycleStatus.approved, CycleStatus.closed),
           "approval": (CycleStatus.approved, CycleStatus.closed)}


@dataclass(frozen=True)
class SignoffState:
    """Where a stage's sign-off stands before the flow asks (again)."""

    done: bool  # the cycle is past this stage: nothing to ask
    usable: bool  # a code is out, pending and not expired: ask without sending a new one
    answers: int  # answers to this stage so far, over all its requests: the key of the next question
    blocking: list[str]  # what must be resolved before the verification can be signed
    # The cycle's latest sign-off decision, when it was on this stage and the stage is not done
    # (a rejection), and the run that was waiting for it: a decision taken outside the dialog (a
    # reply by email, `kaoping signoff give`) stops that run as a rejection in the dialog does.
    decision: str = ""
    decision_run: str = ""


def signoff_state(session: Session, *, cycle_code: str, stage: str, now: datetime | None = None) -> SignoffState:
    cycle = get_cycle(session, cycle_code)
    done = CycleStatus(cycle.status) in _SIGNED.get(stage, _SIGNED["approval"])
    request = pending_request(session, cycle, stage)
    answers = session.exec(select(func.coalesce(func.sum(SignoffRequest.answers), 0)).where(
        SignoffRequest.cycle_id == cycle.id, SignoffRequest.stage == stage)).one()
    blocking = [] if done or stage != "verification" else blocking_problems(session, cycle, self_scored_ok=True)
    # ---- sign-off by reply (issue 15): a rejection given while a run waited
    last = session.exec(select(SignoffRequest).where(SignoffRequest.cycle_id == cycle.id, SignoffRequest.decision != "")
                        .order_by(SignoffRequest.decided_at.desc(), SignoffRequest.id.desc())).first()
    sent_back = not done and last is not None and last.stage == stage and last.decision == "reject"
    # ---- end
    return SignoffState(done=done, usable=request is not None and request.expires_at > (now or utcnow()),
                        answers=int(answers), blocking=blocking, decision=last.decision if sent_back else "",
                        decision_run=waiting_run(session, cycle, stage, upto=last.id) or "" if sent_back else "")


def ask_signer(session: Session, settings: Settings, *, cycle_code: str, stage: str, flow_run_id: str, link: str,
               actor: str) -> SignoffRequest:
    """Email a fresh code to the signer, telling them where the waiting run is (``link``)."""
    cycle = get_cycle(session, cycle_code)
    summary = in_the_ui(link, cycle_label(cycle))
    previous = session.exec(select(SignoffRequest).where(SignoffRequest.cycle_id == cycle.id, SignoffRequest.stage == stage)
                            .order_by(SignoffRequest.id.desc())).first()
    request, _ = request_signoff(session, settings, cycle, stage, actor=actor, summary=summary)
    request.flow_run_id = flow_run_id
    if previous is not None and previous.status in ("spent", "locked") and previous.last_message:
        # The dialog asks again because the last answer voided its code: it says why, above the new question.
        request.last_message = previous.last_message
    session.add(request)
    return request


@dataclass(frozen=True)
class SignoffAnswer:
    """What the signer filled in on the resume form."""

    code: str = ""
    approve: bool = False
    comments: str = ""
    confirm_self_scored: bool = False
    confirm_groups: tuple[str, ...] = ()  # the lead assessors whose listed items the verifier confirms

    @classmethod
    def from_form(cls, values: dict) -> "SignoffAnswer":
        """From the form's fields (``decision`` is 同意 or 退回修改)."""
        return cls(code=values.get("code", ""), approve=values.get("decision") == "同意",
                   comments=values.get("comments", ""), confirm_self_scored=bool(values.get("confirm_self_scored")),
                   confirm_groups=tuple(n for n in re.split(r"[、，,；;\s]+", str(values.get("confirm_groups") or "")) if n))


def short_reason(message: str) -> str:
    """The gist of why an answer did not take effect, for a state name ("验证码不正确"): its first clause."""
    gist = re.split(r"[（(：:，,。；;]", message.strip(), maxsplit=1)[0].strip()
    return gist[:24] or "请重新填写"


#: Where a signer answers again in the Prefect UI (the buttons the office's UI shows: README, “Prefect 界面”).
ANSWER_AGAIN = "请在 Prefect 界面中打开这次运行（运行状态为“等待签字”），点击右上角的 Resume 按钮，重新填写后点击 Submit"


def in_the_ui(link: str, period: str) -> str:
    """How to sign in the Prefect UI the office uses (the classic UI, pinned: README “Prefect 界面”), in the
    words of its buttons: the run's page (``link``), Resume at its top right, the dialog's Submit."""
    where = (f"打开这次运行 {link}" if link else
             f"在左侧菜单点击 Runs，打开状态为“等待签字”、名为“{period}考评 · …”的运行")
    return (f"也可以在 Prefect 界面中签字：{where}，点击右上角的 Resume 按钮，在对话框中阅读签字内容，"
            "填写验证码，选择“同意”或“退回修改”，然后点击 Submit。")


def next_step(stage: str, decision: str) -> str:
    """What happens after a signer's answer, as the confirmation tells it: a send-back (退回) is not a signature."""
    if decision == "reject":
        return ("已退回专班修改，考评结果暂不印发。专班按意见修改并重新核实后，将再次提请您签字。" if stage == "verification"
                else "已退回专班修改，通报和报告暂不印发。专班按意见修改、重新核实签字后，将再次提请您审定。")
    return ("专班核实已完成，考评流程将向各单位发送初步结果反馈函（征求意见稿），异议期后提请分管领导审定。"
            if stage == "verification" else "审定已完成，考评流程将印发通报和报告。")


def confirm_answer(session: Session, settings: Settings, cycle: Cycle, stage: str, request: SignoffRequest,
                   outcome: SignoffOutcome, *, answer: SignoffAnswer | None, link: str = "", now: datetime) -> None:
    """Every answer given in the Prefect UI, taken or not, confirmed to the stage's signer by email (a reply
    by email gets its answer in ``reply``): whoever submitted it, the signer learns of it."""
    if outcome.ok:
        values = {"decision": "同意" if outcome.decision == "approve" else "退回修改",
                  "comments": answer.comments if answer else "", "outcome": next_step(stage, outcome.decision)}
    else:
        values = {"reason": outcome.message,
                  "todo": "流程已重新等待签字。" + ANSWER_AGAIN + (f"：{link}" if link else "。")}
    rendered = render("signoff_answer", settings, greeting=request.signer_name, period=cycle_label(cycle),
                      stage=STAGES[stage], received=when(now, settings), contact=filled(settings, "contact_phone", "回复签字人的邮件"),
                      accepted=outcome.ok, **values)
    queue(session, settings, key=f"signoff-answer:{request.id}:{request.answers}", kind="signoff_answer",
          to=[request.signer_email], subject=rendered.subject, text=rendered.text, html=rendered.html, cycle_code=cycle.code)


def record_answer(session: Session, settings: Settings, *, cycle_code: str, stage: str, answer: SignoffAnswer | None,
                  problem: str = "", actor: str, now: datetime | None = None, link: str = "") -> SignoffOutcome:
    """Check one answer (``None``: the form was invalid, ``problem`` says why) and count it on
    the stage's latest request, with what it was told: the next question gets a new key. The signer
    is told by email what became of it (``link``: the run in the Prefect UI)."""
    cycle = get_cycle(session, cycle_code)
    if answer is None:
        outcome = SignoffOutcome(False, f"提交的内容无效，请重新填写：{problem}")
    else:
        outcome = give_signoff(session, settings, cycle, stage, code=answer.code, approve=answer.approve,
                               comments=answer.comments, confirm_self_scored=answer.confirm_self_scored,
                               confirm_groups=list(answer.confirm_groups), actor=actor, now=now)
    latest = session.exec(select(SignoffRequest).where(SignoffRequest.cycle_id == cycle.id, SignoffRequest.stage == stage)
                          .order_by(SignoffRequest.id.desc())).first()
    if latest is not None:
        latest.answers += 1
        latest.last_message = "" if outcome.ok else outcome.message
        session.add(latest)
        confirm_answer(session, settings, cycle, stage, latest, outcome, answer=answer, link=link, now=now or utcnow())
    return outcome


@dataclass
class SignerReminders:
    reminded: list[str]
    renewed: list[str]


def remind_signers(session: Session, settings: Settings, *, today, calendar, link_of=None) -> SignerReminders:
    """A signer who has not answered gets a reminder on each working day after the request
    (one per request and day); a code that has expired is replaced by a fresh one."""
    from kaoping.services.cycles.cycle import cycle_label

    done = SignerReminders([], [])
    if not calendar.is_workday(today):
        return done
    now = utcnow()
    pending = session.exec(select(SignoffRequest).where(SignoffRequest.status == "pending").order_by(SignoffRequest.id)).all()
    for request in pending:
        cycle = session.get(Cycle, request.cycle_id)
        requested = local_date(request.created_at, settings.tz)
        if requested == today:
            continue  # the code went out today
        who = f"{request.signer_name}（{cycle.code} {STAGES[request.stage]}）"
        if request.expires_at <= now:
            try:
                fresh, _ = request_signoff(session, settings, cycle, request.stage, actor="flow:reminders",
                                           summary=f"原验证码已过期，这是新的验证码。{link_of(request) if link_of else ''}")
            except (Conflict, InvalidInput):
                continue  # the cycle moved on or has problems again: the cycle flow will ask
            fresh.flow_run_id = request.flow_run_id
            session.add(fresh)
            done.renewed.append(who)
            continue
        link = link_of(request) if link_of else ""
        rendered = render("signoff_reminder", settings, greeting=request.signer_name, period=cycle_label(cycle),
                          stage=STAGES[request.stage],
                          days=calendar.workdays_between(requested, today) if requested < today else 0,
                          requested=when(request.created_at, settings),
                          valid_until=when(request.expires_at, settings),
                          where=in_the_ui(link, cycle_label(cycle)))
        _, created = queue(session, settings, key=f"signoff-reminder:{request.id}:{today.isoformat()}", kind="signoff_reminder",
                           to=[request.signer_email], subject=rendered.subject, text=rendered.text, html=rendered.html,
                           cycle_code=cycle.code)
        if created:
            done.reminded.append(who)
    return done


def waiting_run(session: Session, cycle: Cycle, stage: str, *, upto: int | None = None) -> str | None:
    """The flow run that asked for this sign-off most recently (up to request ``upto``), if a run
    asked for it: a code sent with `kaoping signoff request` while a run waited names no run."""
    query = select(SignoffRequest.flow_run_id).where(SignoffRequest.cycle_id == cycle.id, SignoffRequest.stage == stage,
                                                     SignoffRequest.flow_run_id != "")
    if upto is not None:
        query = query.where(SignoffRequest.id <= upto)
    return session.exec(query.order_by(SignoffRequest.id.desc())).first()
