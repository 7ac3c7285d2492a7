"""The cycle through the Prefect UI in a real browser (Chromium driven by Playwright), as the
specialist team and the two signers meet it: a real ``prefect server start`` with its UI, the
cycle deployment served by a process worker, a real SMTP server on loopback where the
sign-off codes arrive. Only the state before the verification is built directly
(tests/factories.py: a cycle whose returns are all in), so the run reaches the sign-off at once.

Run with ``make test-ui`` (``make test`` leaves it out: marker ``ui``). Screenshots of every
step go to ``var/ui-screenshots/`` (CI keeps them)."""

from __future__ import annotations

import contextvars
import re
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest
from kaoping.models import CycleStatus

from kaoping import db
from kaoping.adapters.prefect_server import (
    TERMINAL,
    LocalPrefect,
    ServerProcess,
    new_auth_string,
    wait_for_state,
)
from kaoping.demo.people import signoff_code
from kaoping.services.cycles.cycle import get_cycle
from kaoping.settings import get_settings
from tests.conftest import PG_SERVER_URL
from tests.smtp_server import SmtpServer, free_port
from tests.ui import forms

pytestmark = [pytest.mark.ui, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "ui-screenshots"
DEPLOYMENT = "半年考评/半年考评"


@pytest.fixture(scope="module")
def prefect_database():
    """The server's database: on PostgreSQL when the suite has one (CI), a database of its own;
    else SQLite in the server's home."""
    if not PG_SERVER_URL:
        yield None
        return
    from sqlalchemy import create_engine, make_url, text

    name = f"kaoping_ui_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # A test's database need not wait for the disk at each commit (~10 ms each here; the server commits often).
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    try:
        yield make_url(PG_SERVER_URL).set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory, prefect_database):
    import prefect.settings

    server = ServerProcess(tmp_path_factory.mktemp("prefect-ui"), port=free_port(), database_url=prefect_database,
                           auth_string=new_auth_string()).launch()  # closed as in production; ready: see cycle_ready
    try:
        with prefect.settings.temporary_settings(updates={prefect.settings.PREFECT_API_URL: server.api_url,
                                                          prefect.settings.PREFECT_API_AUTH_STRING: server.auth_string}):
            yield server
    finally:
        server.stop()
        print(f"\nPrefect server log: {server.log}")


@pytest.fixture
def cycle_ready(initialized_db, tmp_path, server, monkeypatch):
    """2022H1 with every return in; the cycle deployment served; codes go to ``smtp``."""
    from kaoping.notifications.delivery import send_pending

    from tests.factories import import_teams, returned_cycle

    settings = initialized_db
    smtp = SmtpServer().start()
    env = {"KAOPING_DATABASE_URL": settings.database_url, "KAOPING_VAR_DIR": str(settings.var_dir),
           "KAOPING_ENVIRONMENT": "development", "KAOPING_ACTOR": "test:专班",
           "KAOPING_SMTP_HOST": "127.0.0.1", "KAOPING_SMTP_PORT": str(smtp.port), "KAOPING_SMTP_RETRY_INITIAL": "0.01"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    local = LocalPrefect(server.api_url, server.home, env, auth_string=server.auth_string)
    with ThreadPoolExecutor(1) as pool:  # the server starts and the deployment is registered meanwhile
        served = pool.submit(lambda: (server.wait_ready(), local.deploy("半年考评", worker=True)))
        import_teams(settings)  # `kaoping visits teams import`: the teams the start form names
        returned_cycle(settings, tmp_path / "returned")
        send_pending(get_settings())  # what the stages queued for the units, out of the way of the run
        served.result()
    yield settings, smtp
    local.stop_worker()
    smtp.stop()
    get_settings.cache_clear()


@pytest.fixture
def browser_page(request):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    folder = SHOTS / request.node.name.split("[")[0]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page.set_default_timeout(30_000)
        shots = Shots(page, folder)
        page.on("response", log_failed_request)
        page.on("console", lambda m: m.type == "error" and print(f"console error: {m.text}"))
        yield page, shots
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else True:
            shots("failed")
        browser.close()
    print(f"\nscreenshots: {folder}")


def log_failed_request(response) -> None:
    """An API call the UI made that failed (e.g. a resume refused): printed, for the failure report."""
    if response.status >= 400 and "/api/" in response.url:
        try:
            body = response.text()[:500]
        except Exception:  # noqa: BLE001 - the page navigated away: the body is gone
            body = ""
        print(f"HTTP {response.status} {response.request.method} {response.url}: {body}")


class Shots:
    def __init__(self, page, folder: Path):
        self.page, self.folder, self.count, self.started = page, folder, 0, time.monotonic()

    def __call__(self, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=path)
        print(f"{time.monotonic() - self.started:6.1f} s  {path}")
        return path


def window_closes_on(settings) -> date:
    from kaoping.services.objections.window import window_of

    with db.session_scope(settings) as session:
        window = window_of(session, get_cycle(session, "2022H1"))
        assert window is not None, "no objection window was opened after the verification"
        return window.closes_on


def cycle_runs(server) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(DEPLOYMENT)
        return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])))


def named_run(server, name: str, timeout: float = 120):
    """The cycle's run of this name, once it has started and taken it (``flow_run_name``)."""
    deadline = time.monotonic() + timeout
    while not (runs := [r for r in cycle_runs(server) if r.name == name]):
        assert time.monotonic() < deadline, f"no run named {name!r}: {[r.name for r in cycle_runs(server)]}"
        time.sleep(0.5)
    assert len(runs) == 1, runs
    return runs[0]


def open_start_form(page, server) -> None:
    page.goto(f"{server.url}/deployments")
    page.get_by_role("link", name="半年考评").first.click()
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Custom run").click()
    page.locator(".schema-form-property").first.wait_for()


def open_from_runs(page, name: str) -> None:
    """Runs → the run with this name (the list is read once when the page loads: reload until it shows)."""
    for _ in range(10):
        link = page.locator(".flow-run-name, a").filter(has_text=re.compile(f"^{re.escape(name)}$")).first
        try:
            link.wait_for(timeout=3_000)
        except Exception:  # noqa: BLE001 - not listed yet
            page.reload()
            continue
        link.click()
        return
    raise AssertionError(f"the run {name} is not listed under Runs")


def cycle_status(settings) -> str:
    with db.session_scope(settings) as session:
        return get_cycle(session, "2022H1").status


def code_for(smtp, address: str) -> str:
    mails = [r.message for r in smtp.received if address in r.rcpt_tos]
    return signoff_code(reversed(mails), address)


def no_error_shown(page) -> None:
    """Nothing the user sees is a Python traceback or the UI's generic failure toast."""
    text = page.locator("body").inner_text()
    assert "Traceback" not in text and "Something went wrong" not in text, text[:2000]


def wait_paused_again(run_id, before: str):
    """The run answered (its state is no longer ``before``) and waits again, or finished."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + 120
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(run_id)
            if run.state is not None and str(run.state.id) != before and run.state.type.value in ("PAUSED",) + TERMINAL:
                return run
            assert time.monotonic() < deadline, f"run {run_id} still {run.state.type.value if run.state else None}"
            time.sleep(0.5)


def wait_for_new_run(server, known: set, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (fresh := [r for r in cycle_runs(server) if r.id not in known]):
        assert time.monotonic() < deadline, "no new run of the cycle deployment"
        time.sleep(0.5)
    assert len(fresh) == 1, fresh
    return fresh[0]


def mails_to(smtp, address: str) -> list:
    return [r.message for r in smtp.received if address in r.rcpt_tos]


def wait_for_mail(smtp, address: str, after: int, subject_start: str, timeout: float = 60) -> str:
    """The text of the first email to ``address`` after the first ``after`` whose subject starts so."""
    deadline = time.monotonic() + timeout
    while True:
        for message in mails_to(smtp, address)[after:]:
            if str(message["Subject"]).startswith(subject_start):
                return str(message["Subject"]) + "\n" + message.get_body(("plain",)).get_content()
        assert time.monotonic() < deadline, f"no email {subject_start}… to {address}"
        time.sleep(0.5)


def open_resume_dialog(page, server, run_id):
    """The run's page, its Resume button, the dialog (with the form rendered)."""
    page.goto(f"{server.url}/runs/flow-run/{run_id}")
    page.get_by_role("button", name="Resume").click()
    dialog = page.get_by_role("dialog")
    dialog.locator(".schema-form-property").first.wait_for()
    return dialog


def submit_resume(page, dialog, run) -> object:
    state_id = str(run.state.id)
    forms.submit_answer(page, dialog)
    return wait_paused_again(run.id, state_id)


def test_a_cycle_started_and_signed_in_the_browser(server, cycle_ready, browser_page):
    settings, smtp = cycle_ready
    page, shot = browser_page
    forms.log_in(page, server.url, server.auth_string)  # the server asks for its credential, as in production

    # The specialist team: Deployments → 半年考评 → Run → Custom run, the form in Chinese.
    # First a year mistyped (1999): the form itself refuses it (the schema's range), no run is created.
    page.goto(f"{server.url}/deployments")
    open_start_form(page, server)
    shot("start-form")
    forms.check_start_form(page)
    forms.fill_start_form(page, year="1999")
    before = {r.id for r in cycle_runs(server)}
    page.get_by_role("button", name="Submit").click()
    page.get_by_text(re.compile("minimum of 2000")).first.wait_for()  # under 年度: Prefect's words, not ours
    shot("refused-year")
    page.wait_for_timeout(2_000)
    assert {r.id for r in cycle_runs(server)} == before, "a run was created for 1999"

    # Then as it should be: 2022, 上半年 (the rest of the form as filled).
    forms.field_input(page, "年度").fill("2022")
    shot("start-form-filled")
    forms.submit_start(page, made_run=lambda: bool({r.id for r in cycle_runs(server)} - before))  # "scheduled"
    run = named_run(server, "2022年上半年考评 · 开启")  # the form proposes random words; the run names itself
    page.goto(f"{server.url}/runs")  # Runs: the team finds the run by its Chinese name
    open_from_runs(page, run.name)
    page.wait_for_url(f"**/runs/flow-run/{run.id}")
    run_id = run.id

    # The run issues nothing more (all is in) and asks the verifier: the code goes by email.
    run = wait_for_state(run_id, ("PAUSED",), timeout=180)
    page.reload()
    page.get_by_role("button", name="Resume").wait_for()
    shot("waiting-for-verification")
    verifier_code = code_for(smtp, settings.verifier_email)
    assert not [r for r in smtp.received if settings.approver_email in r.rcpt_tos]

    # Started again by hand while that run waits for the signature: the new run opens nothing and ends
    # failed-looking, named 未开启, its reason (the other run waiting) as the message the run page shows.
    known = {r.id for r in cycle_runs(server)}
    open_start_form(page, server)
    forms.fill_start_form(page)
    forms.submit_start(page, made_run=lambda: bool({r.id for r in cycle_runs(server)} - known))
    again = wait_for_new_run(server, known)
    again = wait_for_state(again.id, TERMINAL, timeout=180)
    assert again.state.type.value == "FAILED" and again.state.name == "未开启", again.state
    assert again.state.message.startswith("未能开启2022年上半年考评：本考评已于 ") and "正在进行" in again.state.message
    page.goto(f"{server.url}/runs/flow-run/{again.id}")
    page.get_by_text("未开启", exact=True).first.wait_for()  # the state's badge
    page.get_by_text(re.compile("本次运行未做任何操作")).first.wait_for()  # the state message, or the log
    shot("started-again")
    no_error_shown(page)
    assert "Engine execution exited" not in page.locator("body").inner_text()

    # A wrong code: the dialog closes; without reopening it (the page refreshes the state itself) the run's
    # state says the answer did not take effect and why; the signer gets an email saying so; the reopened
    # dialog says why at its top and keeps what was entered, the code excepted.
    dialog = open_resume_dialog(page, server, run_id)
    shot("verification-dialog")
    forms.check_signoff_dialog(dialog, stage="verification")
    wrong = "000000" if verifier_code != "000000" else "111111"
    forms.fill_signoff(dialog, code=wrong, stage="verification")
    shot("verification-wrong-code")
    told = len(mails_to(smtp, settings.verifier_email))
    run = submit_resume(page, dialog, run)
    assert run.state.type.value == "PAUSED" and run.state.name == "等待签字（上次未生效：验证码不正确）", run.state
    assert cycle_status(settings) == CycleStatus.open
    page.get_by_text("等待签字（上次未生效：验证码不正确）").first.wait_for()  # no reload: the page's own refresh
    shot("verification-refused-state")
    refusal = wait_for_mail(smtp, settings.verifier_email, told, "【未签字】")
    assert "验证码不正确" in refusal and "点击右上角的 Resume 按钮" in refusal
    dialog = open_resume_dialog(page, server, run_id)
    shot("verification-refused")
    no_error_shown(page)
    text = dialog.inner_text()
    assert "上次提交未生效" in text and "验证码不正确" in text, text[:800]
    assert forms.field_input(dialog, "验证码").input_value() == ""
    assert forms.switch_on(dialog, "同时确认牵头考核单位自评项")  # kept as the signer left it

    # The right code from the verifier's mailbox: verified. The run sends every unit its provisional
    # 反馈函 (征求意见稿) and ends: the objection window (异议期) is open, the approval not yet asked for.
    told = len(mails_to(smtp, settings.verifier_email))
    forms.fill_signoff(dialog, code=verifier_code, stage="verification")
    run = submit_resume(page, dialog, run)
    assert run.state.type.value == "COMPLETED", run.state
    assert cycle_status(settings) == CycleStatus.verified
    assert "：同意" in wait_for_mail(smtp, settings.verifier_email, told, "【已签字】")  # confirmed to the signer
    closes_on = window_closes_on(settings)
    provisional = [r for r in smtp.received if "征求意见" in str(r.message["Subject"])]
    assert len(provisional) >= 30, [str(r.message["Subject"]) for r in smtp.received[-5:]]
    assert not [r for r in smtp.received if settings.approver_email in r.rcpt_tos]
    assert str(closes_on) < forms.TODAY[:4] + "-08-01", closes_on  # the date picked in the form counted

    # The daily reminders flow, after the window closed, starts the run that asks the approver
    # (分管领导); the team opens it from Runs by its name.
    from kaoping.flows.trigger import advance_cycles

    with ThreadPoolExecutor(1) as pool:  # off Playwright's event loop, as in the reminders flow's worker
        started = pool.submit(contextvars.copy_context().run, advance_cycles, get_settings(), today=closes_on + timedelta(days=7), reason="每日推进")
        assert started.result() == ["2022H1"]
    run = wait_for_state(named_run(server, "2022年上半年考评 · 每日推进").id, ("PAUSED",), timeout=180)
    run_id = run.id
    approver_code = code_for(smtp, settings.approver_email)
    page.goto(f"{server.url}/runs")
    open_from_runs(page, run.name)
    page.wait_for_url(f"**/runs/flow-run/{run_id}")
    page.get_by_text("等待签字").first.wait_for()
    shot("waiting-for-approval")
    dialog = open_resume_dialog(page, server, run_id)
    shot("approval-dialog")
    no_error_shown(page)
    forms.check_signoff_dialog(dialog, stage="approval")
    # What is signed, scrolled to: the ranking tables fit the dialog's width (no column cut off).
    widths = forms.scroll_to_tables(dialog)
    shot("approval-dialog-ranking")
    assert widths and all(w["table"] <= w["box"] + 1 for w in widths), widths
    assert all(w["hidden"] <= 1 for w in widths), widths  # every table shown whole: no rank behind its own scroll
    assert "名次" in dialog.inner_text(), dialog.inner_text()[:1500]
    forms.fill_signoff(dialog, code=approver_code, stage="approval")
    run = submit_resume(page, dialog, run)
    assert run.state.type.value == "COMPLETED", run.state

    # What the team sees in the end: the run completed, the reports distributed, the anchors.
    assert cycle_status(settings) == CycleStatus.closed
    page.reload()
    page.get_by_text("Completed").first.wait_for()
    shot("completed")
    page.get_by_text("Artifacts", exact=True).click()
    page.get_by_text(re.compile(r"审计锚点（印发 ")).first.wait_for()  # the publication's audit anchor
    page.get_by_text("kaoping-2022h1-jinzhan").first.wait_for()  # the 进展 (progress) artifact
    shot("artifacts")
    page.get_by_text(re.compile(r"审计锚点（印发 ")).first.click()  # the anchor, as the 专班 read it
    page.get_by_text("这页证明什么").first.wait_for()
    shot("audit-anchor")
    body = page.locator("main, body").first.inner_text()
    forms.plain_words_only(body)
    assert not re.search(r"[0-9a-f]{64}", body), "the anchor's hash shows without opening the fold"
    page.goto(f"{server.url}/runs/flow-run/{run_id}")
    page.get_by_text("Artifacts", exact=True).click()
    page.get_by_text("kaoping-2022h1-jinzhan").first.click()  # what a leader opens: the progress, in Chinese
    page.get_by_text(re.compile(r"考评进展")).first.wait_for()
    shot("jinzhan")
    forms.plain_words_only(page.locator("main, body").first.inner_text())
    no_error_shown(page)
    # The flow and its deployment are listed by their Chinese names.
    page.goto(f"{server.url}/deployments")
    page.get_by_role("link", name="半年考评").first.wait_for()
    shot("deployments")
    distributed = [r for r in smtp.received if "通报" in str(r.message["Subject"]) or "反馈" in str(r.message["Subject"])]
    assert distributed, [str(r.message["Subject"]) for r in smtp.received[-10:]]
