"""Sign-offs in the Prefect UI (签字): the cycle run asks the designated signer with a Resume
form and waits, suspended, holding no worker; each answer is checked by
``kaoping.services.signoff.signatures`` and an answer that did not take effect is asked again under a
new key, with what happened to it at the top of the dialog and in the run's state name.

The paused run's state is named in Chinese ("等待签字", "等待签字（上次未生效：验证码不正确）"): Prefect's
``suspend_flow_run`` always names it "Suspended", so ``suspend_for_answer`` proposes the same
state (a Paused state that reschedules, with the form's input keyset) under our name. The
server decides by the state's type and details, not its name (``HandlePausingFlows``,
``HandleResumingPausedFlows``); the Resume button shows for any Paused state.
"""

from __future__ import annotations

import pydantic
from kaoping.flows.forms import SignoffInput, VerificationInput
from kaoping.flows.tasks import (
    anchor_artifact,
    record_answer,
    request_code,
    send_outbox,
    signoff_description,
    signoff_state,
)
from prefect import get_run_logger
from prefect.context import FlowRunContext

from kaoping.services.signoff.signatures import STAGES, short_reason

WAITING = "等待签字"
WAITING_AGAIN = "等待签字（上次未生效：{reason}）"
#: What a refused answer keeps when asked again: everything the signer entered except the code.
KEPT = ("decision", "comments", "confirm_self_scored")


def waiting_state_name(description: dict) -> str:
    """"等待签字", or after an answer that did not take effect "等待签字（上次未生效：验证码不正确）": the
    state the run page shows within seconds of the answer, without opening the dialog again."""
    return WAITING_AGAIN.format(reason=short_reason(description["reason"])) if description["again"] else WAITING


def with_entries(form: type[SignoffInput], description: str, previous: dict) -> type[SignoffInput]:
    """The form with the dialog's description and, after a refused answer, what the signer entered
    (the code excepted) as the fields' defaults — titles, descriptions and places kept (Prefect's
    ``with_initial_data`` would drop them)."""
    import copy

    fields = {}
    for name, value in previous.items():
        if name in KEPT and name in form.model_fields:
            info = copy.copy(form.model_fields[name])
            info.default = value
            fields[name] = (form.model_fields[name].annotation, info)
    model = pydantic.create_model(form.__name__, __base__=form, **fields) if fields else form
    return model.with_initial_data(description=description)


def suspend_for_answer(form: type[SignoffInput], *, key: str, state_name: str) -> SignoffInput | None:
    """``suspend_flow_run(wait_for_input=form, key=key)`` with a state named ``state_name``; the
    answer is deleted from the server once read (``read_once``)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import Abort, Pause
    from prefect.input import keyset_from_base_key
    from prefect.states import Paused
    from prefect.utilities.engine import propose_state_sync

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("Flow runs can only be suspended from within a flow run.")
    proposed = Paused(name=state_name, reschedule=True, pause_key=key)
    # The keys Prefect would use for a "Suspended" state (ASCII, whatever the state is called).
    keyset = keyset_from_base_key(f"suspended-{key}")
    proposed.state_details.run_input_keyset = keyset
    with get_client(sync_client=True) as client:
        try:
            state = propose_state_sync(client=client, state=proposed, flow_run_id=context.flow_run.id)
        except Abort as exc:  # e.g. not started from a deployment
            raise RuntimeError(f"Flow run cannot be suspended: {exc}") from exc
        if state.is_running():  # this question was asked before and answered: the answer, read once
            return read_once(form, keyset, context.flow_run.id)
        if not state.is_paused():
            raise RuntimeError(f"Flow run cannot be suspended. Received unexpected state from API: {state}")
        form.save(keyset)
    try:  # what suspend_flow_run does too, where this Prefect has it
        from prefect._flow_run_suspension import mark_flow_run_suspension_requested

        mark_flow_run_suspension_requested(context.flow_run.id, state)
    except ImportError:
        pass
    raise Pause(state=state)


#: An answer that was read (and deleted) but whose run stopped before it was recorded.
LOST = "上次提交的答复已读取，但运行随即中断、未能核对：请重新填写。"


def read_once(form: type[SignoffInput], keyset: dict, flow_run_id) -> SignoffInput | None:
    """The answer to a question, deleted from the Prefect server as it is read: an answer carries the
    signer's code, and nothing the API serves may show it afterwards (not even to whoever holds the
    API's credentials). ``None`` when it is gone already (read by a run that stopped before recording it)."""
    from prefect.exceptions import ObjectNotFound
    from prefect.input import delete_flow_run_input, read_flow_run_input

    value = read_flow_run_input(keyset["response"], flow_run_id=flow_run_id)
    try:
        delete_flow_run_input(keyset["response"], flow_run_id=flow_run_id)
    except ObjectNotFound:
        pass
    return None if value is None else form(**value)


def sign(code: str, stage: str) -> str | None:
    """Ask the designated signer until a valid answer comes; ``None`` if this run cannot ask."""
    logger = get_run_logger()
    context = FlowRunContext.get()
    flow_run_id = str(context.flow_run.id) if context and context.flow_run else ""
    previous: dict = {}
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
            given = suspend_for_answer(with_entries(form, description["markdown"], previous),
                                       key=f"signoff-{stage}-{state['answers']}", state_name=waiting_state_name(description))
            answer = None if given is None else given.model_dump(include=set(form.model_fields))
            problem = LOST if given is None else ""
        except pydantic.ValidationError as exc:
            answer, problem = None, "; ".join(e["msg"] for e in exc.errors())
        except RuntimeError as exc:  # not started from a deployment: it cannot be suspended
            logger.warning("本次运行不能暂停等待签字（%s）：验证码已发给签字人，请从部署重新运行本流程，"
                           "签字人也可直接回复签字邮件签字。", exc)
            return None
        outcome = record_answer(code, stage, answer, problem, flow_run_id)
        send_outbox()  # the signer's confirmation of this answer, taken or not
        if outcome["ok"]:
            logger.info(outcome["message"])
            anchor_artifact(code, f"{STAGES[stage]}签字（{'同意' if outcome['decision'] == 'approve' else '退回修改'}）")
            return outcome["decision"]
        logger.warning("签字未生效，重新等待：%s", outcome["message"])
        previous = {name: value for name, value in (answer or {}).items() if name in KEPT}
