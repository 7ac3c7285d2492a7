"""Issue 25 item 1: `kaoping doctor` checks a set-up the way the first real cycle will use it.

The demo's own settings show what it flags (every placeholder, the development secret, the example
registry, a world-readable .env); a production set-up on real servers — SMTP with STARTTLS and
login, the office mailbox on dovecot, a Prefect server closed by its auth string with the pool, a
worker and the deployments of prefect.yaml — is all ✔; a wrong credential, an open Prefect server or
an unreachable one is ✘ with what to do."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from kaoping.adapters.prefect_server import DEPLOYMENT_HOME, LocalPrefect, ServerProcess
from kaoping.models.types import fixed_clock
from kaoping.settings import DATA_DIR
from tests.smtp_server import SmtpServer, free_port, self_signed_cert

pytestmark = pytest.mark.layout_only  # what it checks does not depend on the database backend


def marks(output: str) -> dict[str, str]:
    """Each checklist line's title → its mark (✔ ! ✘)."""
    found = {}
    for line in output.splitlines():
        if line[:1] in "✔!✘" and "：" in line:
            found[line[2:].split("：", 1)[0]] = line[0]
    return found


def test_the_demo_settings_show_what_doctor_flags(initialized, tmp_path):
    (tmp_path / ".env").write_text("KAOPING_SMTP_PASSWORD=pw\n", encoding="utf-8")  # the cli fixture runs in tmp_path
    os.chmod(tmp_path / ".env", 0o644)
    result = initialized("doctor", "--offline")
    assert result.exit_code == 1 and "Traceback" not in result.output
    found = marks(result.output)
    assert found["运行环境"] == "✘" and found["密钥"] == "✘"
    assert found["公文的发文机关、签发人和联系人"] == "✘" and found["签字人（专班负责人、分管领导）"] == "✘"
    assert found["市委、市政府、市纪委监委的收件邮箱"] == "✘" and found["考评对象名录"] == "✘"
    for variable in ("KAOPING_REPORT_SIGNER", "KAOPING_CONTACT_NAME", "KAOPING_CONTACT_PHONE", "KAOPING_VERIFIER_EMAIL",
                     "KAOPING_APPROVER_EMAIL", "KAOPING_LEADERSHIP_EMAILS"):
        assert variable in result.output
    assert "×××" in result.output and "0472-0000000" in result.output and "baotou.example" in result.output
    assert "须处理" in result.output and "直到全部为 ✔" in result.output

    initialized.env.update({"KAOPING_ENVIRONMENT": "production", "KAOPING_SECRET_KEY": "k" * 48})
    again = initialized("doctor", "--offline")
    assert marks(again.output)["密钥"] == "✘" and "chmod 600" in again.output  # the secret sits in a file others can read
    os.chmod(tmp_path / ".env", 0o600)
    assert marks(initialized("doctor", "--offline").output)["密钥"] == "✔"


def test_a_setting_that_cannot_be_read_is_one_line_not_a_traceback(initialized):
    initialized.env["KAOPING_DATABASE_URL"] = "postgres://kaoping:pw@db/kaoping"
    result = initialized("doctor")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert marks(result.output)["读取设置"] == "✘" and "postgresql+psycopg://" in result.output and ":pw@" not in result.output


TEAMS = """max_per_day: 2
length: half
teams:
  - name: 调研一组
    members:
      - {name: 王建国, email: wangjianguo@baotou.gov.cn}
      - {name: 李晓梅, email: lixiaomei@baotou.gov.cn}
"""


def production_env(cli, tmp_path, smtp_port: int, imap, prefect_api: str, auth: str | None) -> None:
    """An office's settings, filled in: what the README's production section has IT staff set."""
    cli.env.update({
        "KAOPING_ENVIRONMENT": "production", "KAOPING_SECRET_KEY": "k" * 48,
        "KAOPING_REPORT_SIGNER": "王某强", "KAOPING_CONTACT_NAME": "李明", "KAOPING_CONTACT_PHONE": "0472-5123456",
        "KAOPING_VERIFIER_EMAIL": "fzr@baotou.gov.cn", "KAOPING_APPROVER_EMAIL": "fenguan@baotou.gov.cn",
        "KAOPING_LEADERSHIP_EMAILS": "shiwei@baotou.gov.cn,shizhengfu@baotou.gov.cn,jiwei@baotou.gov.cn",
        "KAOPING_OFFICE_EMAIL": "zhuanban@baotou.gov.cn", "KAOPING_THIRD_PARTY_EMAIL": "pinggu@pinggu.cn",
        "KAOPING_OPINION_EMAIL": "minyi@diaocha.cn", "KAOPING_MAIL_FROM": imap["user"],
        "KAOPING_SMTP_HOST": "127.0.0.1", "KAOPING_SMTP_PORT": str(smtp_port), "KAOPING_SMTP_SECURITY": "starttls",
        "KAOPING_SMTP_USER": "kaoping", "KAOPING_SMTP_PASSWORD": "smtp-pw", "KAOPING_SMTP_VERIFY_TLS": "false",
        "KAOPING_IMAP_HOST": "127.0.0.1", "KAOPING_IMAP_PORT": str(imap["port"]), "KAOPING_IMAP_SECURITY": "none",
        "KAOPING_IMAP_USER": imap["user"], "KAOPING_IMAP_PASSWORD": imap["password"],
        "PREFECT_API_URL": prefect_api, "PREFECT_UI_URL": "https://kaoping.baotou.gov.cn",
    })
    if auth is None:
        cli.env.pop("PREFECT_API_AUTH_STRING", None)
    else:
        cli.env["PREFECT_API_AUTH_STRING"] = auth


def _wait_for_worker(prefect: LocalPrefect, auth: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        response = httpx.get(f"{prefect.api_url}/work_pools/kaoping", auth=tuple(auth.split(":", 1)), timeout=10)
        if response.status_code == 200 and response.json().get("status") == "READY":
            return
        time.sleep(1)
    raise TimeoutError(f"no worker came online (log: {prefect.log})")


@pytest.mark.e2e
def test_a_production_set_up_on_real_servers_is_all_green(initialized, tmp_path, imap_server):
    cert, key = self_signed_cert(tmp_path)
    smtp = SmtpServer(tls=(cert, key), require_starttls=True, users={"kaoping": "smtp-pw"}).start()
    auth = f"admin:{uuid.uuid4().hex}"
    server = ServerProcess(tmp_path / "prefect", port=free_port())
    server.env["PREFECT_SERVER_API_AUTH_STRING"] = auth
    prefect = LocalPrefect(server.api_url, tmp_path / "prefect-client", {"PREFECT_API_AUTH_STRING": auth,
                                                                          **initialized.env})
    try:
        server.start()
        prefect.deploy(worker=True)
        registry, teams = tmp_path / "名录.yaml", tmp_path / "调研组.yaml"
        # The office's registry: the shipped one with its real addresses (the example domain replaced).
        registry.write_text((DATA_DIR / "registry" / "baotou.yaml").read_text(encoding="utf-8")
                            .replace("baotou.example", "baotou.gov.cn"), encoding="utf-8")
        teams.write_text(TEAMS, encoding="utf-8")
        imap = {"port": imap_server.port, "user": f"kaopingshoujian-{uuid.uuid4().hex[:8]}@baotou.gov.cn",
                "password": imap_server.password}
        production_env(initialized, tmp_path, smtp.port, imap, server.api_url, auth)
        imported = initialized("units", "import", str(registry))
        assert imported.exit_code == 0, imported.output
        assert initialized("visits", "teams", "import", str(teams)).exit_code == 0
        _wait_for_worker(prefect, auth)

        with fixed_clock(datetime(2022, 6, 1, 1, 0, tzinfo=UTC)):  # a year the holiday calendar covers
            result = initialized("doctor")
            assert result.exit_code == 0, result.output
            found = marks(result.output)
            assert "✘" not in found.values(), result.output
            for title in ("Prefect 服务器", "工作池 kaoping", "部署", "界面地址（PREFECT_UI_URL）", "发件（SMTP）",
                          "收件（专用邮箱 IMAP）", "数据库", "考评对象名录", "实地调研组", "2022 年工作日历"):
                assert found[title] in "✔!", title
            assert "不带凭据的请求被拒绝" in result.output and "STARTTLS" in result.output and "全部就绪" in result.output

            initialized.env["PREFECT_API_AUTH_STRING"] = "admin:wrong"
            wrong = initialized("doctor")
            assert wrong.exit_code == 1 and marks(wrong.output)["Prefect 服务器"] == "✘" and "401" in wrong.output
            initialized.env["PREFECT_API_AUTH_STRING"] = auth
            initialized.env["KAOPING_SMTP_PASSWORD"] = "wrong"
            refused = initialized("doctor")
            assert refused.exit_code == 1 and marks(refused.output)["发件（SMTP）"] == "✘" and "KAOPING_SMTP_PASSWORD" in refused.output
            initialized.env["KAOPING_SMTP_PASSWORD"] = "smtp-pw"

            # Someone holding the credential changes what a worker would run: a deployment's pull steps, and a
            # deployment of their own on the pool. Prefect takes both; the checklist names both.
            credential = tuple(auth.split(":", 1))
            deployments = httpx.post(f"{server.api_url}/deployments/filter", json={}, auth=credential, timeout=10).json()
            daily = next(d for d in deployments if d["name"] == "收件录入")
            patched = httpx.patch(f"{server.api_url}/deployments/{daily['id']}", auth=credential, timeout=10, json={
                "pull_steps": [{"prefect.deployments.steps.run_shell_script": {"script": "id > /tmp/pwned"}}]})
            assert patched.status_code == 204, patched.text
            extra = {**{k: daily[k] for k in ("flow_id", "work_pool_name", "entrypoint")}, "name": "维护脚本",
                     "pull_steps": [{"prefect.deployments.steps.set_working_directory": {"directory": "/tmp"}}]}
            assert httpx.post(f"{server.api_url}/deployments/", json=extra, auth=credential, timeout=10).status_code == 201
            tampered = initialized("doctor")
            assert tampered.exit_code == 1 and marks(tampered.output)["部署"] == "✘", tampered.output
            assert "收件录入：拉取步骤与 prefect.yaml 不同" in tampered.output and "维护脚本：prefect.yaml 中没有这个部署" in tampered.output
    finally:
        prefect.stop_worker()
        server.stop()
        smtp.stop()


def test_an_open_prefect_server_is_flagged(initialized, prefect_server):
    """A server without PREFECT_SERVER_API_AUTH_STRING (the suite's own test server is one): anyone who
    reaches it signs and runs commands (issue 24)."""
    import prefect.settings

    initialized.env.update({"PREFECT_API_URL": prefect.settings.PREFECT_API_URL.value(),
                            "PREFECT_UI_URL": "https://kaoping.baotou.gov.cn"})
    initialized.env.pop("PREFECT_API_AUTH_STRING", None)
    result = initialized("doctor")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert marks(result.output)["Prefect 服务器"] == "✘" and "不需要登录" in result.output

    initialized.env["PREFECT_API_URL"] = f"http://127.0.0.1:{free_port()}/api"  # nothing listens there
    unreachable = initialized("doctor")
    assert marks(unreachable.output)["Prefect 服务器"] == "✘" and "无法连接" in unreachable.output
    assert DEPLOYMENT_HOME.joinpath("prefect.yaml").exists()
