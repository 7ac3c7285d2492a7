"""Prefect's API as kaoping uses it: links to runs, starting cycle runs, releasing a paused run."""

from __future__ import annotations

import logging
from datetime import date, datetime

log = logging.getLogger("kaoping.flows")

ACTIVE = ("SCHEDULED", "PENDING", "RUNNING", "PAUSED")
STALE_HOURS = 2


def run_link(flow_run_id: str) -> str:
    """Where the signer finds the waiting run in the Prefect UI (PREFECT_UI_URL)."""
    from prefect.settings import PREFECT_UI_URL

    base = PREFECT_UI_URL.value()
    return f"{base.rstrip('/')}/runs/flow-run/{flow_run_id}" if base and flow_run_id else ""


def artifact_link(key: str) -> str:
    """Where the Prefect UI shows an artifact's content: the page of its newest version (the classic UI's
    page by key lists the versions, not the content); by key while none exists yet."""
    from prefect.settings import PREFECT_UI_URL

    base = (PREFECT_UI_URL.value() or "").rstrip("/")
    newest = latest_artifact_id(key)
    return f"{base}/artifacts/artifact/{newest}" if newest else f"{base}/artifacts/key/{key}"


def latest_artifact_id(key: str) -> str:
    """The id of the newest version of the artifact ``key`` ("" if none, or the API cannot say)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey

    try:
        with get_client(sync_client=True) as client:
            found = client.read_latest_artifacts(
                artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=[key])))
    except Exception:  # noqa: BLE001 - no server (a service test): the link by key
        return ""
    return str(found[0].latest_id) if found else ""


def _active_runs(client, deployment_id) -> list:
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    return client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
            any_=[StateType(s) for s in ACTIVE]))),
    )


def _dead(run) -> bool:
    """A run still "Running" hours after it started lost its process (a crashed machine):
    a cycle run takes minutes. It must not keep the cycle from moving on."""
    from datetime import timedelta, timezone

    started = run.start_time or run.expected_start_time
    return (run.state is not None and run.state.type.value == "RUNNING" and started is not None
            and datetime.now(timezone.utc) - started > timedelta(hours=STALE_HOURS))


HALF_LABELS = {1: "上半年", 2: "下半年"}


def _year_half(parameters: dict) -> tuple:
    """(year, half) of a cycle run's parameters: the start form (``start``: 年度, 半年)."""
    start = parameters.get("start") or {}
    halves = {label: number for number, label in HALF_LABELS.items()}
    return start.get("year"), halves.get(start.get("half"))


def other_live_run(flow_run_id, year: int, half: int) -> str:
    """The name and state of another run of the same deployment for this cycle that waits — for a signature,
    or to start or resume ("2022年上半年考评 · 收到交回的表格（等待签字）") —, "" if none or not known. A run
    still "Running" is not counted: it may be one whose machine died (a person starts the cycle again then)."""
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            this = client.read_flow_run(flow_run_id)
            if this.deployment_id is None:
                return ""
            for run in _active_runs(client, this.deployment_id):
                waiting = run.state is not None and run.state.type.value in ("SCHEDULED", "PENDING", "PAUSED")
                if run.id != this.id and waiting and _year_half(run.parameters or {}) == (year, half):
                    return f"{run.name}（{run.state.name if run.state else ''}）"
    except Exception:  # noqa: BLE001 - the API unreachable: decide without it
        return ""
    return ""


def start_cycle_runs(deployment_name: str, ready: list[tuple[int, int, str]], *, today: date | None, reason: str) -> list[str]:
    """Start a run of the cycle deployment for each (year, half, what next) that has no live run,
    named "2022年上半年考评 · <reason>" (the run keeps that name)."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    started = []
    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(deployment_name)
        except ObjectNotFound:
            log.warning("未找到周期流程的部署 %s：无法自动推进（请在项目目录运行 prefect deploy --all）。",
                        deployment_name)
            return []
        active = {_year_half(r.parameters or {}) for r in _active_runs(client, deployment.id) if not _dead(r)}
        for year, half, what in ready:
            if (year, half) in active:
                continue
            start = {"year": year, "half": HALF_LABELS[half]}
            if today is not None:
                start["today"] = today.isoformat()
            run = run_deployment(deployment.id, parameters={"start": start}, timeout=0, as_subflow=False,
                                 flow_run_name=f"{year}年{HALF_LABELS[half]}考评 · {reason}")
            log.info("已启动 %sH%s 的周期流程（%s）：%s", year, half, what, run.id)
            started.append(f"{year}H{half}")
    return started


def release_answer(how: str, schema: dict | None = None) -> dict:
    """The answer a run is released with: never read (the run starts again from the top and finds the
    stage decided; were it read, an empty code costs no try), but the server checks it against the
    sign-off form's ``schema`` — so every other required field takes the schema's default
    (tests/flows/test_cycle_form.py keeps the two in step)."""
    answer = {"code": "", "comments": f"（{how}）"}
    properties = (schema or {}).get("properties", {})
    for name in (schema or {}).get("required", []):
        if name not in answer and "default" in properties.get(name, {}):
            answer[name] = properties[name]["default"]
    return answer


def _question_schema(flow_run_id) -> dict | None:
    """The schema of the form the paused run asks with (saved with the question), if it can be read."""
    import json

    from prefect.client.orchestration import get_client
    from prefect.input import read_flow_run_input

    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(flow_run_id).state
        keyset = state.state_details.run_input_keyset if state is not None else None
        schema = read_flow_run_input(keyset["schema"], flow_run_id=flow_run_id) if keyset else None
        return json.loads(schema) if isinstance(schema, str) else schema
    except Exception:  # noqa: BLE001 - unreadable: the release says what to do if the server refuses it
        return None


def release_paused_run(flow_run_id: str, *, how: str = "已在命令行签字") -> str:
    """After a sign-off given outside the UI (`kaoping signoff give`, a reply by email), let the
    run that was waiting for it go on: it is resumed with an empty answer, starts again from the
    top, sees the stage signed (or sent back: it stops) and moves on. Returns what to tell the
    operator ("" when no run was waiting)."""
    from uuid import UUID

    from prefect.exceptions import NotPausedError
    from prefect.flow_runs import resume_flow_run

    if not flow_run_id:
        return ""
    try:
        resume_flow_run(UUID(flow_run_id), run_input=release_answer(how, _question_schema(UUID(flow_run_id))))
    except NotPausedError:
        return ""
    except Exception as exc:  # noqa: BLE001 - Prefect unreachable or refusing: the signature stands anyway
        return (f"签字已生效，但 Prefect 中等待签字的运行 {flow_run_id} 未能自动继续（{exc.__class__.__name__}）："
                "请在 Prefect 界面中打开该运行，点击右上角的 Resume 按钮，验证码填写任意 6 位数字后点击 Submit"
                "（签字已生效，不会再核对），或取消该运行。")
    return f"Prefect 中等待签字的运行 {flow_run_id} 已继续。"


def release_if_waiting_for(flow_run_id: str, stage: str, *, how: str) -> str:
    """``release_paused_run``, only while the run still waits for this stage's signature (its pause
    key is ``signoff-<stage>-N``, see ``flows.signing``): a run that has moved on and now waits for
    the next stage is not answered with an empty form. Returns what was done ("" for nothing)."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    if not flow_run_id:
        return ""
    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(UUID(flow_run_id)).state
    except ObjectNotFound:
        return ""
    if state is None or not state.is_paused() or not (state.state_details.pause_key or "").startswith(f"signoff-{stage}-"):
        return ""
    return release_paused_run(flow_run_id, how=how)



# --------------------------------------------------------------------------- the outbox's senders

#: The Prefect global concurrency limit every sender of the outbox holds a slot of while it sends: however
#: many workers and flows run, no more than its slots (× KAOPING_SMTP_CONNECTIONS) talk to the mail server.
SMTP_LIMIT = "kaoping-smtp"
_limit_checked: set[str] = set()


def _ensure_limit(name: str, slots: int) -> None:
    """Create the limit with ``slots`` if the server has none (an office may have set its own: kept)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.settings import PREFECT_API_URL

    checked = f"{PREFECT_API_URL.value()}|{name}"  # once per server this process talks to
    if checked in _limit_checked:
        return

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=slots))
            except ObjectAlreadyExists:  # another worker made it first
                pass
    _limit_checked.add(checked)


def smtp_slot(slots: int, lease_seconds: int):
    """A slot of ``kaoping-smtp`` for one sender (waits while the others hold them all). The holder renews
    the slot's lease while it sends; a sender that died (its worker killed) frees the slot when the lease
    runs out — ``lease_seconds``, the same time its claim on the outbox's messages lasts
    (KAOPING_SMTP_CLAIM_SECONDS; at least the minute Prefect's server requires) — not after Prefect's
    default five minutes."""
    from prefect.concurrency.sync import concurrency

    _ensure_limit(SMTP_LIMIT, slots)
    return concurrency(SMTP_LIMIT, occupy=1, strict=False, lease_duration=max(60, lease_seconds))
