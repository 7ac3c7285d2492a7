"""`make demo-ui` as a person uses it: ``kaoping demo --ui`` in its own process (a real Prefect
server with its UI, a worker, the loopback mail sink, the private dovecot when installed), the
simulated people playing until the run waits; then the person reads the link and the code the
demo prints, signs both stages in Chromium's Resume dialog, and presses Ctrl-C — which must stop
the server, the worker and the mail sink (the port is free again).

Run with ``make test-ui`` (marker ``ui``); screenshots in ``var/ui-screenshots/``."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.smtp_server import free_port
from tests.ui import forms
from tests.ui.test_browser import CHROMIUM, SHOTS

pytestmark = pytest.mark.ui


class Printed:
    """What the demo has printed so far (its stdout, read from a file as it grows)."""

    def __init__(self, path: Path, process: subprocess.Popen):
        self.path, self.process, self.pos = path, process, 0

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8", errors="replace")

    def next(self, pattern: str, timeout: float = 900) -> re.Match:
        """The next line matching ``pattern`` after the last one found."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            found = re.compile(pattern).search(text, self.pos)
            if found:
                self.pos = found.end()
                return found
            assert self.process.poll() is None, f"the demo ended ({self.process.returncode}):\n{text[-4000:]}"
            assert time.monotonic() < deadline, f"the demo never printed {pattern!r}:\n{text[-4000:]}"
            time.sleep(1)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_the_ui_demo_waits_for_a_person_who_signs_in_the_browser(tmp_path):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    shots = SHOTS / "test_the_ui_demo"
    shots.mkdir(parents=True, exist_ok=True)
    port, log = free_port(), tmp_path / "demo-ui.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAOPING_", "PREFECT_"))}
    with open(log, "w", encoding="utf-8") as sink:
        process = subprocess.Popen([str(Path(sys.executable).parent / "kaoping"), "demo", "--ui", "--port", str(port),
                                    "--out", str(tmp_path / "demo-ui")],
                                   stdout=sink, stderr=subprocess.STDOUT, env={**env, "COLUMNS": "200"})
    printed = Printed(log, process)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
            page.set_default_timeout(60_000)
            try:
                auth = printed.next(r"\n\s+(kaoping:[A-Za-z0-9_-]+)\n").group(1)  # the demo says how to log in
                forms.log_in(page, f"http://127.0.0.1:{port}", auth)
                for stage, signer in (("verification", "专班核实签字"), ("approval", "分管领导审定签字")):
                    printed.next(signer)
                    url = printed.next(r"在浏览器中打开 (http://127\.0\.0\.1:\d+/runs/flow-run/[0-9a-f-]+)").group(1)
                    code = printed.next(r"填写验证码 (\d{6})").group(1)
                    page.goto(url)
                    page.get_by_text("等待签字").first.wait_for()  # the run's state, as the demo said
                    page.get_by_role("button", name="Resume").click()
                    dialog = page.get_by_role("dialog")
                    dialog.locator(".schema-form-property").first.wait_for()
                    page.screenshot(path=shots / f"{stage}-dialog.png")
                    forms.check_signoff_dialog(dialog, stage=stage)
                    forms.fill_signoff(dialog, code=code, stage=stage)
                    forms.submit_answer(page, dialog)
                    printed.next("签字已生效：同意", timeout=300)
                printed.next("界面仍在运行", timeout=300)
                page.goto(url)
                page.get_by_text("Completed").first.wait_for()
                page.screenshot(path=shots / "completed.png")
            except Exception:
                page.screenshot(path=shots / "failed.png")
                raise
            finally:
                browser.close()
        text = printed.text()
        assert "反馈函：36 份" in text and "Traceback" not in text, text[-3000:]
        assert (tmp_path / "demo-ui" / "reports" / "2022H1").is_dir()

        # Ctrl-C: everything stops, the UI's port is free again.
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) is not None
        assert "已停止" in printed.text(), printed.text()[-2000:]
        assert not port_open(port), f"the Prefect server still listens on {port}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
