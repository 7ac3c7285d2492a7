"""Issue 24, attack 1, repeated under a real Prefect server: the signer answered the Resume dialog
with the right code but left 确认自评项 off; the run paused again and the code stayed valid, and the
answer — code included — stayed stored as flow-run input for anyone who could reach the API
(``POST /api/flow_runs/{id}/input/filter``). Resuming with it and the box on completed the
verification in the real signer's name.

Now the answer is deleted as soon as the run reads it, a code that matched is spent whatever else
the answer lacked (the run sends the signer a fresh one and the dialog says so), and no code, hash of
a code or answer containing one can be read back through the API — inputs, runs, task runs, states,
logs, artifacts or events. (That the API itself is closed: tests/abuse/test_prefect_api.py.)

The flow is the cycle's own sign-off stage, run from a deployment in this process by Prefect's engine
as a worker would (tests/flows/test_signoff_by_reply.py explains the set-up)."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from kaoping.models import CycleStatus, SignoffRequest
from sqlmodel import select

from kaoping import db
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.stages import steps as stages
from kaoping.settings import get_settings
from tests.factories import accept_default_points, import_teams, policy_without_objections, scored_cycle
from tests.flows.test_signoff_by_reply import CODE, DAY, execute, signing, start
from tests.smtp_server import SmtpServer

# What is attacked is Prefect's Resume dialog and the run that reads its answer, not the database: the sign-off
# service that spends and checks the codes runs on both backends in tests/services/signoff and tests/cli. SQLite only.
BOTH_BACKENDS: set[str] = set()


@pytest.fixture
def dialog(initialized, settings, monkeypatch, prefect_server, tmp_path):
    """A cycle whose lead assessors' self-scored items await the verifier's confirmation, a deployment
    of the sign-off stage, and the SMTP server the codes go through."""
    server = SmtpServer().start()
    for key, value in {**initialized.env, "KAOPING_SMTP_HOST": "127.0.0.1", "KAOPING_SMTP_PORT": str(server.port),
                       "KAOPING_SMTP_RETRY_INITIAL": "0.01"}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    scored_cycle(settings, tmp_path, verify=False, policy=policy_without_objections(settings, tmp_path))
    accept_default_points(settings)
    import_teams(settings)
    with db.session_scope(settings) as session:
        stages.prepare(session, settings, CODE, stages.PlanChoice(), today=date.fromisoformat(DAY))
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        deployment = client.create_deployment(flow_id=client.create_flow(signing), name="dialog-probe",
                                              entrypoint="tests/flows/test_signoff_by_reply.py:signing")
    yield server, deployment
    server.stop()
    get_settings.cache_clear()


def answer(run_id, code: str, *, confirm: bool) -> None:
    from prefect.flow_runs import resume_flow_run

    resume_flow_run(run_id, run_input={"code": code, "decision": "同意", "comments": "", "confirm_self_scored": confirm})


def codes_mailed(server, address: str) -> list[str]:
    import re

    return [re.search(r"验证码：(\d{6})", r.message.get_body(("plain",)).get_content()).group(1)
            for r in server.received if address in r.rcpt_tos and r.message["X-Kaoping-Kind"] == "signoff_request"]


def everything_the_api_serves(run_id) -> str:
    """What anyone holding the API's credentials can read back about the run: inputs, the run and its
    states, its task runs, logs, artifacts and the events of the time — as one text."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId
    from prefect.input import filter_flow_run_input

    from kaoping.adapters.prefect_server import _drain_workers

    _drain_workers()  # logs and events still on their way to the server
    parts = []
    with get_client(sync_client=True) as client:
        parts.append(client.read_flow_run(run_id).model_dump_json())
        parts += [s.model_dump_json() for s in client.read_flow_run_states(run_id)]
        runs = FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
        parts += [t.model_dump_json() for t in client.read_task_runs(flow_run_filter=runs)]
        parts += [entry.model_dump_json() for entry in client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))]
        parts += [a.model_dump_json() for a in client.read_artifacts()]
        page = client.request("POST", "/events/filter", json={"limit": 50}).json()
        for _ in range(40):  # every event of the session's server, page by page
            parts.append(json.dumps(page["events"], ensure_ascii=False))
            if not page.get("next_page"):
                break
            page = client._client.get(page["next_page"]).json()
    parts += [json.dumps(i.value, ensure_ascii=False) + i.key for i in filter_flow_run_input("", flow_run_id=run_id)]
    return "\n".join(parts)


def test_a_right_code_with_the_box_off_is_spent_and_the_answer_is_gone(dialog, settings):
    server, deployment = dialog
    run_id = start(deployment)
    assert execute(run_id) == "等待签字"
    [code] = codes_mailed(server, settings.verifier_email)

    answer(run_id, code, confirm=False)  # the right code, 确认自评项 left off
    assert execute(run_id) == "等待签字（上次未生效：还有 101 项牵头考核单位自评项未核实）"  # the state names why
    with db.session_scope(settings) as session:
        first = session.exec(select(SignoffRequest).order_by(SignoffRequest.id)).first()
        assert first.status == "spent" and get_cycle(session, CODE).status == CycleStatus.open
    codes = codes_mailed(server, settings.verifier_email)
    assert len(codes) == 2  # the run sent a fresh code at once
    from prefect.input import filter_flow_run_input, read_flow_run_input

    from tests.e2e.test_cycle_flow import dialog_description

    assert not [i for i in filter_flow_run_input("suspended", flow_run_id=run_id) if i.key.endswith("-response")]
    assert "已作废" in dialog_description(run_id) and "新的验证码" in dialog_description(run_id)  # the dialog says so
    assert read_flow_run_input("suspended-signoff-verification-0-response", flow_run_id=run_id) is None

    # What the attacker did with the answer read from the API: the same code, the box on. It no longer signs.
    answer(run_id, code, confirm=True)
    assert execute(run_id).startswith("等待签字（上次未生效：")
    with db.session_scope(settings) as session:
        assert get_cycle(session, CODE).status == CycleStatus.open

    # The signer, with the fresh code and the box on, signs at the first try.
    answer(run_id, codes[-1], confirm=True)
    assert execute(run_id) == "等待签字"  # on to the approver
    with db.session_scope(settings) as session:
        assert get_cycle(session, CODE).status == CycleStatus.verified
        hmacs = [r.code_hmac for r in session.exec(select(SignoffRequest))]
    served = everything_the_api_serves(run_id)
    assert "同意" in served or "等待签字" in served  # the scan did read the run's texts …
    for secret in [*codes_mailed(server, settings.verifier_email), *codes_mailed(server, settings.approver_email), *hmacs]:
        # … and no code, and no hash of one: as a token of its own (a 6-digit code may well occur inside a
        # run's or an event's UUID, which says nothing of the code — CI met 767858 in …-76785842ad98)
        assert not re.search(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])", served), secret
