"""`make demo`: a complete half-year cycle through Prefect, on embedded defaults, with simulated people.

Everything is built fresh under ``demo-output/``: a SQLite database with the 2022 catalog
and Baotou's units; a Prefect server (Prefect's ephemeral one, its database under
``demo-output/prefect/``) with this repository's deployments registered by
``prefect deploy --all`` and a process worker running them, as in production; a local SMTP
server that saves every message as .eml under ``demo-output/mail/``.

The cycle flow is started once, as the specialist team would in the Prefect UI. From then
on the people are simulated and kaoping does the rest: units return their self-assessments
into the inbox (one first sends an incomplete form and is refused, one is late), the intake
flow records them and replies, the daily reminders escalate and move the cycle on, lead
assessors return their scoring sheets, the visiting teams their records, the evaluators
their results; the flow asks for the two sign-offs, and the signers answer with the codes
they find in their mail (resuming the suspended run, as the Resume button does).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from datetime import datetime
from pathlib import Path

from rich.console import Console

from kaoping import db
from kaoping.adapters.prefect_server import (
    TERMINAL,
    LocalPrefect,
    ephemeral_server,
    new_auth_string,
    wait_for_state,
)
from kaoping.demo.mailbox import (
    deliver,
    form_email,
    office_mailbox,
    reply_email,
    sign_by_reply,
)
from kaoping.demo.people import (
    People,
    drop_in_inbox,
    issued_forms,
    mailbox,
    signoff_code,
)
from kaoping.domain.scoring import ranges
from kaoping.models import FormKind
from kaoping.models.types import CLOCK_FILE, set_simulated_clock
from kaoping.notifications.mail.sink import MailSink
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.cycles.points import accept_default_points
from kaoping.services.reference.catalog import summarize
from kaoping.services.reference.setup import initialize
from kaoping.services.visits.schedule import import_teams
from kaoping.settings import Settings, get_settings

DEPLOYMENT = "半年考评/半年考评"
#: The run form as the team fills it in the Prefect UI (Run → Custom run: 开启考评).
#: The visit window is left to the default: after the self-assessment deadline (2022-07-11–07-22), so the teams
#: check on site what the units reported (办法三(一); issue 27).
START = {"start": {"year": 2022, "half": "上半年", "self_assessment_deadline": "2022-07-08", "today": "2022-06-20",
                   "accept_default_responsibilities": "2022年承担清单尚未印发，沿用默认承担规则（演示）"}}


def run(output: Path, console: Console, demo: type["Demo"] | None = None) -> None:
    """``demo``: the class that plays it (``Demo``; ``kaoping.demo.ui.UiDemo`` for `make demo-ui`)."""
    output = Path(output).resolve()
    db.dispose_engine(Settings(var_dir=output, database_url="", _env_file=None).effective_database_url)
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    with MailSink(output / "mail") as sink, office_mailbox(output / "mailbox", console.print) as imap:
        env = {"KAOPING_VAR_DIR": str(output), "KAOPING_DATABASE_URL": "", "KAOPING_SMTP_HOST": "127.0.0.1",
               "KAOPING_SMTP_PORT": str(sink.port), "KAOPING_INBOX_DIR": str(output / "inbox"),
               "KAOPING_ENVIRONMENT": "development", "KAOPING_ACTOR": "demo:专班", "KAOPING_IMAP_HOST": "",
               # The simulated days (``Demo.clock``): read by this process and every flow run of the worker.
               CLOCK_FILE: str(output / "clock.txt")}
        if imap is not None:  # the units reply by email to the office mailbox (IMAP), as in production
            env.update(imap.env())
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)  # the flows run in this process too (intake, reminders) read it
        get_settings.cache_clear()
        try:
            (demo or Demo)(get_settings(), output, console, sink, env, imap).run()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            get_settings.cache_clear()


def quiet_console() -> None:
    """The demo prints its own progress: Prefect's run logs still go to the server (the UI
    shows them), only its console echo is limited to warnings."""
    from prefect.logging.configuration import setup_logging

    setup_logging()
    for logger in (logging.getLogger(), logging.getLogger("prefect")):
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setLevel(logging.WARNING)
    for name in ("httpx", "uvicorn"):
        logging.getLogger(name).setLevel(logging.WARNING)


class Demo:
    def __init__(self, settings: Settings, output: Path, console: Console, sink: MailSink, env: dict[str, str], imap=None):
        self.settings, self.output, self.console, self.sink, self.env = settings, output, console, sink, env
        self.imap, self.replies = imap, []  # the office mailbox (None: the inbox folder) and replies not yet delivered
        self.people = People(2022)
        self.inbox = settings.effective_inbox_dir
        self.started = time.monotonic()
        self.clock_file = Path(env[CLOCK_FILE])

    def clock(self, at: str) -> datetime:
        """Set the simulated day and hour (office time), from which kaoping's clock (``utcnow``) runs on: every
        date a document or email prints (成文日期, Date:, "还剩N个工作日" …) is the simulated one, in every
        process of the demo. Prefect's own times (its run list) stay real."""
        when = datetime.fromisoformat(at).replace(tzinfo=self.settings.tz)
        set_simulated_clock(self.clock_file, when)
        return when

    def say(self, text: str) -> None:
        self.console.print(text, markup=True, highlight=False)

    def step(self, title: str) -> None:
        self.say(f"\n[bold]{title}[/bold] [dim]（{time.monotonic() - self.started:.0f} 秒）[/dim]")

    def run(self) -> None:
        self.say(f"[bold]kaoping 演示[/bold] — 一个完整的半年考评周期，全部输出在 {self.output}/")
        self.clock("2022-06-20T08:30")  # the team prepares the morning the cycle starts
        self.prepare()
        with db.session_scope(self.settings) as session:
            from kaoping.adapters.console import print_summary

            print_summary(summarize(session, 2022))
        quiet_console()
        self.step("0. 启动 Prefect：本机服务器、prefect deploy --all 注册部署、进程 worker")
        home = self.output / "prefect"
        # Closed as production is: the API requires the credentials (the worker and this process send them).
        with ephemeral_server(home, server_log_level="CRITICAL", auth_string=new_auth_string()) as api_url:
            local = LocalPrefect(api_url, home, self.env)
            local.deploy(worker=True)
            self.say(f"  Prefect API {api_url}（需登录凭据，与生产环境相同）；部署：半年考评、每日催报、收件录入、年度考评")
            try:
                self.cycle()
            finally:
                local.stop_worker()
        self.finish()

    def prepare(self) -> None:
        """What the team does once before starting: the database, the catalog and units, the visit teams."""
        for line in initialize(self.settings):
            self.say("  " + line)
        teams = self.settings.data_dir / "demo" / "teams.yaml"
        with db.session_scope(self.settings) as session:
            imported = import_teams(session, teams.read_bytes(), source_name=teams.name, actor="demo:专班")
        self.say(f"  调研组名单（kaoping visits teams import {teams.name}）：{'、'.join(imported.teams)}")

    # ----------------------------------------------------------------------- the cycle

    def cycle(self) -> None:
        self.sign(self.until_signoff())

    def until_signoff(self):
        """Steps 1–5: from the start to the run waiting for the verification; returns its id."""
        from prefect.deployments import run_deployment

        from kaoping.flows.daily import reminders

        self.step("1. 专班在 Prefect 界面开启 2022 年上半年考评（部署“半年考评”：自评表 7 月 8 日截止；实地调研按默认日程在截止之后，7 月 11 日—22 日）")
        self.clock(f"{START['start']['today']}T09:00")
        first = run_deployment(DEPLOYMENT, parameters=START, timeout=0)
        self.wait(first.id, TERMINAL)
        self.status("2022-06-20")

        self.step("2. 截止前提醒（每日 09:00 的催报流程：截止前 3 个工作日；1 个工作日前再提醒尚未报送的单位，见第 3 步）")
        self.remind("2022-07-05")

        self.step("3. 各单位回复表格邮件、附上填好的自评表，回收流程从专用邮箱（IMAP）收取、录入并回复" if self.imap else
                  "3. 各单位把填好的自评表发回，专班存入收件文件夹，回收流程自动录入并回复")
        late = "青山区"
        self.returns(FormKind.self_assessment, only=("东河区",), sloppy=True)
        for outcome in self.intake("2022-07-05T16:20"):
            self.say(f"  [red]退回[/red] 东河区：{outcome['reason'].splitlines()[1].strip()}（退回原因已自动回复）")
        count = self.returns(FormKind.self_assessment, skip=(late,))
        accepted = [o for o in self.intake("2022-07-06T10:00") if o["accepted"]]
        self.say(f"  收到 {count} 份，已接收 {len(accepted)} 份（东河区更正后重报）；{late}尚未报送")
        self.remind("2022-07-07")  # 1 working day before the deadline: only who has not returned it

        self.step("4. 截止后：逾期通知与督办，周期流程自动下发评分表和实地调研记录表（均附各单位自评内容）")
        self.clock("2022-07-11T09:00")
        result = reminders(today="2022-07-11")
        self.say(f"  2022-07-11：逾期通知 {len(result['overdue'])} 个单位，督办（抄送专班）{len(result['escalations'])} 个；"
                 f"已启动周期流程 {'、'.join(result['started'])}")
        self.wait_newest(TERMINAL)
        self.returns(FormKind.self_assessment, only=(late,))
        outcome = self.intake("2022-07-11T15:30")[0]
        self.say(f"  {late} 补报：{outcome['summary']}")
        self.status("2022-07-11")

        self.step("5. 牵头考核单位交回评分表（市工信局明确了大项三的指标分值）；调研组 7 月 11 日—22 日对照各单位自评内容实地核实，"
                  "交回调研记录（逐项核实情况）；第三方评估和民意调查结果交回")
        self.say(f"  {FormKind.lead_scoring.label}：{self.returns(FormKind.lead_scoring)} 份")
        accepted = [o for o in self.intake("2022-07-12T16:00") if o["accepted"]]
        self.say(f"  回收流程已接收 {len(accepted)} 份评分表")
        with db.session_scope(self.settings) as session:
            numbers = accept_default_points(session, get_cycle(session, "2022H1"), actor="cli:专班",
                                            reason="其余牵头考核单位未在评分表中明确分值，按办法三(四)平均分配（演示）")
        self.say(f"  专班确认：指标 {ranges(numbers)} 按默认分值（平均分配）计算，理由记入审计日志并在报告中说明")
        for kind in (FormKind.field_visit, FormKind.third_party, FormKind.opinion):
            self.say(f"  {kind.label}：{self.returns(kind)} 份")
        accepted = [o for o in self.intake("2022-07-25T09:00") if o["accepted"]]
        self.say(f"  回收流程已接收 {len(accepted)} 份，全部收齐 → 周期流程提请专班核实签字")
        return self.wait_newest(("PAUSED",))

    def sign(self, run_id) -> None:
        self.step("6. 签字：验证码只发给签字人；签字人在 Prefect 界面点击 Resume 填写（此处模拟）")
        self.clock("2022-07-25T10:00")
        verifier = self.settings.verifier_email
        wrong = "000000" if self.code(verifier) != "000000" else "111111"
        from kaoping.services.scoring.checklist import checklist

        with db.session_scope(self.settings) as session:  # what the verifier read in the email's attachment
            groups = {lead: len(items) for lead, items in checklist(session, get_cycle(session, "2022H1")).items()}
        self.resume(run_id, code=wrong, decision="同意", comments="", confirm_self_scored=False, confirm_groups="、".join(groups))
        self.say(f"  专班负责人误填验证码 {wrong} → 流程记入审计日志并重新等待（不会失败）")
        self.resume(run_id, code=self.code(verifier), decision="同意", comments="", confirm_self_scored=False, confirm_groups="、".join(groups))
        self.say(f"  专班负责人对照签字邮件附件《自评项核实清单》，按牵头考核单位分组确认 {len(groups)} 个单位的 "
                 f"{sum(groups.values())} 项自评项（每项记录谁、何时、如何确认），填写邮件中的验证码 → 核实签字完成，分数冻结")
        self.wait(run_id, TERMINAL)
        run_id = self.objection_stage()
        approver = self.settings.approver_email
        if self.imap is not None:  # the approver signs by replying to the sign-off email (issue 15 item 2)
            when = self.clock("2022-07-29T10:30")
            sign_by_reply(self.imap, approver, self.signoff_email(approver), when, code=self.code(approver))
            self.intake("2022-07-29T10:30")
            self.say("  分管领导在邮箱中回复签字邮件“同意。验证码：……” → 回收流程收取回复，核对发件人和验证码，签字生效，"
                     "等待签字的流程自动继续")
        else:
            self.clock("2022-07-29T10:30")
            self.resume(run_id, code=self.code(approver), decision="同意", comments="")
        self.say("  分管领导审定签字 → 印发通报、报告、反馈函，分发邮件")
        self.wait(run_id, TERMINAL)
        self.status("2022-07-29")

    def objection_stage(self):
        """Issue 17: the provisional 反馈函 went out with the verification; two units object (one upheld,
        one rejected); when the window has closed the daily run asks for the approval. Returns that run."""
        from kaoping.demo.objections import object_and_decide
        from kaoping.flows.daily import reminders

        self.step("6a. 异议期：周期流程已向各单位发送初步结果反馈函（征求意见稿），3 个工作日内可回复提出异议")
        self.status("2022-07-25")
        object_and_decide(self.settings, self.say, at=self.clock("2022-07-26T15:00"), imap=self.imap)
        self.clock("2022-07-29T09:00")
        result = reminders(today="2022-07-29")
        self.say(f"  2022-07-29：异议期已截止、异议均已处理 → 已启动周期流程 {'、'.join(result['started'])}，验证码发给分管领导")
        return self.wait_newest(("PAUSED",))

    # ----------------------------------------------------------------------- helpers

    def remind(self, day: str) -> None:
        """The daily run (催报) at 09:00 of ``day``: reminders before the deadline."""
        from kaoping.flows.daily import reminders

        self.clock(f"{day}T09:00")
        result = reminders(today=day)
        self.say(f"  {day}：提醒 {len(result['reminders'])} 个单位，发送 {result['sent']} 封")

    def returns(self, kind: FormKind, *, only: tuple[str, ...] = (), skip: tuple[str, ...] = (), sloppy: bool = False) -> int:
        with db.session_scope(self.settings) as session:
            forms = issued_forms(session, get_cycle(session, "2022H1"), kind, self.settings)
        count = 0
        for form, name, sender in forms:
            if (only and name not in only) or name in skip:
                continue
            data = self.people.fill(kind, Path(form.path).read_bytes(), sloppy=sloppy)
            file_name = f"{form.form_no}-{name}-{kind.label}{'（第一次）' if sloppy else ''}.docx"
            if self.imap is not None:  # a reply to the form email, delivered when the intake runs (its arrival time)
                with db.session_scope(self.settings) as session:
                    original = form_email(session, form.form_no, sender)
                    self.replies.append((sender, original, [(file_name, data)]))
            else:
                drop_in_inbox(self.inbox, file_name, data, sender)
            count += 1
        return count

    def intake(self, at: str) -> list[dict]:
        from kaoping.flows.daily import intake

        when = self.clock(at)  # the office's intake run at the hour the mail arrived
        if self.imap is None:
            return intake(received_at=when)
        replies = [(reply_email(sender, original, when, text="您好，附件是我单位填好的表格，请查收。", attachments=files), when)
                   for sender, original, files in self.replies]
        deliver(self.imap, replies)  # the mail server stores them, arrival time = the simulated time
        self.replies = []
        return intake()

    def wait(self, run_id, states):
        try:
            return wait_for_state(run_id, states, timeout=300)
        except (RuntimeError, TimeoutError) as exc:
            log = self.output / "prefect" / "worker.log"
            raise SystemExit(f"演示中止：{exc}\n（worker 日志：{log}）") from None

    def wait_newest(self, states) -> object:
        """The cycle run the intake or reminders flow just started."""
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.sorting import FlowRunSort

        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(DEPLOYMENT)
            from prefect.client.schemas.filters import (
                DeploymentFilter,
                DeploymentFilterId,
            )

            newest = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
                                           sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=1)[0]
        self.wait(newest.id, states)
        return newest.id

    def resume(self, run_id, **answer) -> None:
        from prefect.flow_runs import resume_flow_run

        resume_flow_run(run_id, run_input=answer)
        self.wait(run_id, ("PAUSED",) + TERMINAL)

    def signoff_email(self, address: str) -> tuple[str, str]:
        """(subject, Message-ID) of the newest sign-off email to ``address``: what the signer replies to."""
        for message in mailbox(self.sink.folder):
            if address in str(message.get("To", "")) and "验证码" in str(message.get("Subject", "")):
                return str(message["Subject"]), str(message["Message-ID"])
        raise SystemExit(f"演示中止：没有发给 {address} 的签字邮件")

    def code(self, address: str) -> str:
        try:
            return signoff_code(mailbox(self.sink.folder), address)
        except LookupError:
            raise SystemExit(f"演示中止：没有发给 {address} 的签字邮件") from None

    def status(self, today: str) -> None:
        from datetime import date

        from kaoping.services.stages.status import cycle_status

        with db.session_scope(self.settings) as session:
            report = cycle_status(session, get_cycle(session, "2022H1"), today=date.fromisoformat(today), tz=self.settings.tz)
            lines = report.lines()
        for line in lines:
            if "[" in line or "下一步" in line:
                self.say("  [dim]" + line.strip().replace("[", "\\[") + "[/dim]")

    def finish(self) -> None:
        from kaoping.adapters.console import print_result_table
        from kaoping.services.scoring.results import (
            compute_cycle,
            result_rows,
            rounding_note_of,
        )

        self.step("7. 考评结果")
        with db.session_scope(self.settings) as session:
            inputs, results = compute_cycle(session, get_cycle(session, "2022H1"))
            rows = result_rows(inputs, results)
            note = rounding_note_of(session, get_cycle(session, "2022H1"))
        print_result_table(rows, "2022年上半年数字政府建设考评结果", note=note)
        reports = self.settings.var_dir / "reports" / "2022H1"
        self.say("\n[bold]输出[/bold]")
        for path in sorted(reports.glob("*.*")):
            self.say(f"  {path}")
        self.say(f"  反馈函：{len(list((reports / '反馈函').glob('*.docx')))} 份（{reports / '反馈函'}/）")
        self.say(f"  邮件：{self.sink.count} 封（{self.sink.folder}/*.eml）")
        if self.imap is not None:
            where = self.imap.mail_dir if self.output in self.imap.mail_dir.parents else "临时目录（演示结束后删除）"
            self.say(f"  专用邮箱：{where}（IMAP 文件夹 {self.settings.imap_processed_folder}、"
                     f"{self.settings.imap_refused_folder}；每封邮件及附件另存于 {self.settings.received_dir}/）")
        else:
            self.say(f"  交回的文件：{self.inbox}/accepted/、{self.inbox}/refused/（原件另存于 {self.settings.received_dir}/）")
        self.say(f"  数据库：{self.settings.effective_database_url.removeprefix('sqlite:///')}；"
                 f"Prefect 运行记录：{self.output / 'prefect' / 'prefect.db'}")
        self.say(f"[dim]用时 {time.monotonic() - self.started:.0f} 秒。[/dim]" + self.afterwards())

    def afterwards(self) -> str:
        """How to look at the runs afterwards (the demo's server is gone: start one on its database)."""
        return (f"[dim]查看 Prefect 界面中的运行与看板：PREFECT_HOME={self.output / 'prefect'} "
                f"PREFECT_SERVER_UI_V2_ENABLED=false PREFECT_SERVER_DATABASE_CONNECTION_URL=sqlite+aiosqlite:///{self.output / 'prefect' / 'prefect.db'} "
                "prefect server start[/dim]")
