"""`make demo-ui` (``kaoping demo --ui``): the demo of `make demo`, with the two sign-offs left
to a person in the Prefect UI.

Everything is built fresh under ``var/demo-ui/``: kaoping's SQLite database, a Prefect server
started with ``prefect server start`` at http://127.0.0.1:4200 (its home and SQLite database
under ``var/demo-ui/prefect/``), this repository's deployments registered and a process worker
running them (so runs started from the UI execute), and a loopback SMTP server that saves every
message as .eml under ``var/demo-ui/mail/``. The simulated people of `make demo` do their
parts (the cycle is started, the units return their forms, the reminders escalate, the lead
assessors, visiting teams and evaluators return theirs) until the cycle run waits for the
verification. Then the demo prints where to click and the codes (and the .eml they came in),
follows what the person does, prints the results at the end, and keeps the UI up until Ctrl-C,
which stops the worker, the server and the mail server.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from kaoping import db
from kaoping.adapters.prefect_server import TERMINAL, LocalPrefect, ServerProcess, new_auth_string
from kaoping.demo.run import Demo, quiet_console
from kaoping.demo.run import run as run_demo
from kaoping.services.cycles.cycle import get_cycle

PORT = 4200


def run(output: Path, console, port: int = PORT) -> None:
    UiDemo.port = port

    def interrupt(signum, frame):  # `kill` (SIGTERM) stops it as cleanly as Ctrl-C
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    # Ctrl-C stops it even when it was started with SIGINT ignored (as a shell's background job, `cmd &`, is
    # started; it then never stopped: seen in a CI run).
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run_demo(output, console, UiDemo)
    except KeyboardInterrupt:
        console.print("\n已停止：Prefect 服务器、worker 和本地邮件服务均已关闭。")
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def login_instructions(url: str, auth: str) -> str:
    """How to log in to the demo's Prefect UI (printed once, at the start)."""
    return (f"  [bold]登录[/bold]：界面需要登录（与生产环境相同）。在浏览器中打开 {url}，在登录页（Login）的输入框中填写\n"
            f"      [bold]{auth}[/bold]\n"
            "    （整串，含冒号；本次演示专用，每次启动都不同），点击 Login。同一浏览器此后不再询问。")


class UiDemo(Demo):
    port = PORT

    def run(self) -> None:
        import prefect.settings

        self.say(f"[bold]kaoping 界面演示[/bold] — 模拟各单位走完半年考评，两次签字由您在 Prefect 界面中完成；输出在 {self.output}/")
        self.clock("2022-06-20T08:30")  # the simulated days, as in `make demo`
        self.prepare()
        quiet_console()
        home = self.output / "prefect"
        self.step(f"0. 启动 Prefect 服务器（界面 http://127.0.0.1:{self.port}）、注册部署、启动进程 worker")
        # Closed as in production (README, “生产部署”): the API and the UI require this credential.
        auth = new_auth_string("kaoping")
        with ServerProcess(home, port=self.port, auth_string=auth) as server, prefect.settings.temporary_settings(
                updates={prefect.settings.PREFECT_API_URL: server.api_url, prefect.settings.PREFECT_API_AUTH_STRING: auth}):
            self.server = server
            # The worker asks for work every 5 s, not every second: fewer writes to the server's SQLite
            # database while a person answers in the UI (a write at the same moment can fail a resume).
            local = LocalPrefect(server.api_url, home, self.env, query_seconds=5, auth_string=auth)
            local.deploy(worker=True)
            self.say(f"  界面：{server.url}（服务器日志 {server.log}，worker 日志 {local.log}）")
            self.say(login_instructions(server.url, auth))
            try:
                run_id = self.until_signoff()
                self.person_signs(run_id)
                self.finish()
                self.say(f"\n[bold]界面仍在运行：{server.url}[/bold]（在 Runs 中查看各次运行、日志和 Artifacts）。"
                         "按 Ctrl-C 结束。")
                while True:
                    time.sleep(3600)
            finally:
                local.stop_worker()

    def afterwards(self) -> str:
        return ""  # the UI is still up: said next

    # ----------------------------------------------------------------------- the person in the browser

    def person_signs(self, run_id) -> None:
        """Until the cycle is approved: say who signs, where to click and the code; then follow the
        person's answers (a wrong code asks again; the approver's 退回修改 sends the cycle back to the
        verification, asked for again by the next daily run). Between the two signatures the
        objection stage plays as in `make demo` (two units object, the window closes)."""
        from kaoping.flows.daily import reminders

        self.step("6. 请您在浏览器中签字（本演示等待您操作）")
        self.clock("2022-07-25T10:00")
        objections_done = False
        while (request := self.next_request()) is not None:
            self.explain(f"{self.server.url}/runs/flow-run/{request.flow_run_id or run_id}", request)
            decision = self.follow(request.id)
            if not decision:  # the code was voided by the answer: the run sent a new one, asked for next
                continue
            self.wait(request.flow_run_id or run_id, TERMINAL)
            if request.stage == "verification" and decision == "approve" and not objections_done:
                self.objection_stage()  # ends with the run that asks the approver waiting
                objections_done = True
            elif request.stage == "approval" and decision == "reject":
                self.say("  分管领导退回修改：周期回到专班核实环节。次日的每日推进流程重新提请专班核实签字。")
                self.clock("2022-08-01T09:00")
                result = reminders(today="2022-08-01")
                self.say(f"  2022-08-01：已启动周期流程 {'、'.join(result['started']) or '（无）'}")

    def next_request(self):
        """The sign-off request the run now waits for (its code sent), or None once approved."""
        from kaoping.services.signoff.signatures import pending_request

        while True:
            with db.session_scope(self.settings) as session:
                cycle = get_cycle(session, "2022H1")
                if str(cycle.status) in ("approved", "closed"):
                    return None
                stage = "approval" if str(cycle.status) == "verified" else "verification"
                request = pending_request(session, cycle, stage)
                if request is not None and self.code_file(request.signer_email) is not None:
                    session.expunge(request)
                    return request
            time.sleep(1)

    def explain(self, url: str, request) -> None:
        from kaoping.services.signoff.signatures import STAGES

        address = request.signer_email
        self.say(f"\n  [bold]{STAGES[request.stage]}签字：{request.signer_name}[/bold]")
        self.say(f"  1. 在浏览器中打开 {url}")
        self.say("     （或：左侧 Runs → 状态为“等待签字”的运行，名为“2022年上半年考评 · …”）")
        self.say("  2. 点击右上角的 Resume 按钮，阅读对话框上方的签字内容")
        self.say(f"  3. 填写验证码 [bold]{self.code(address)}[/bold]（发给 {address} 的邮件：{self.code_file(address)}）")
        self.say("     意见选“同意”（或“退回修改”并写明意见说明）"
                 + ("；勾选“同时确认牵头考核单位自评项”" if request.stage == "verification" else ""))
        self.say("  4. 点击 Submit。也可以先填一个错误的验证码：签字不会生效，几秒后运行状态变为“等待签字（上次未生效：验证码不正确）”，"
                 "签字人邮箱收到说明邮件；重新点击 Resume 可以看到原因，已填写的内容（验证码除外）保留。")

    def follow(self, request_id: int) -> str:
        """Wait for the person; say what each answer did, until this request is decided."""
        from kaoping.models import SignoffRequest

        answers = 0
        while True:
            with db.session_scope(self.settings) as session:
                request = session.get(SignoffRequest, request_id)
                seen, message, decision = request.answers, request.last_message, request.decision
                void = request.status in ("spent", "locked", "superseded")
            if decision:
                self.say(f"  [green]签字已生效[/green]：{'同意' if decision == 'approve' else '退回修改'}")
                return decision
            if void:
                self.say(f"  [red]签字未生效[/red]：{message}（验证码已作废，流程正在发送新的验证码）")
                return ""
            if seen > answers:
                answers = seen
                self.say(f"  [red]签字未生效[/red]：{message}（流程重新等待；请再次点击 Resume 填写）")
            time.sleep(1)

    def code_file(self, address: str) -> Path | None:
        """The .eml in the mail folder that brought ``address`` its newest code."""
        for path in sorted(self.sink.folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns, reverse=True):
            if address in path.name and "验证码" in path.name:
                return path
        return None
