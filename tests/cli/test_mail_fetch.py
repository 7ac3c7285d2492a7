"""`kaoping mail fetch|list`: the office mailbox once, for operators — and every way its settings
or the server can be wrong, refused in Chinese with the variable to fix and a non-zero exit."""

from __future__ import annotations

import socket

import pytest
from imapclient import IMAPClient

from tests.abuse.helpers import filled_self_assessment
from tests.cli.conftest import refused
from tests.imap_mail import reply


@pytest.fixture
def mailbox_env(cycle_cli, imap_server):
    user = "cli-office@kaoping.test"
    cycle_cli.env.update({**imap_server.env(), "KAOPING_IMAP_USER": user})
    return cycle_cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fetch_without_a_mailbox_says_what_to_set(cycle_cli):
    assert refused(cycle_cli("mail", "fetch"), "没有设置专用邮箱", "KAOPING_IMAP_HOST")


@pytest.mark.parametrize("env,words", [
    ({"KAOPING_IMAP_HOST": "127.0.0.1"}, ("配置错误", "KAOPING_IMAP_USER")),
    ({"KAOPING_IMAP_HOST": "127.0.0.1", "KAOPING_IMAP_USER": "u", "KAOPING_IMAP_PORT": "abc"}, ("KAOPING_IMAP_PORT", "端口号")),
    ({"KAOPING_IMAP_HOST": "127.0.0.1", "KAOPING_IMAP_USER": "u", "KAOPING_IMAP_SECURITY": "tls"}, ("KAOPING_IMAP_SECURITY", "starttls")),
    ({"KAOPING_IMAP_HOST": "127.0.0.1", "KAOPING_IMAP_USER": "u", "KAOPING_IMAP_PROCESSED_FOLDER": "INBOX"}, ("三个不同的文件夹",)),
])
def test_bad_settings_are_refused_by_name(cycle_cli, env, words):
    cycle_cli.env.update(env)
    assert refused(cycle_cli("mail", "fetch"), *words)


def test_an_unreachable_server_is_a_message_not_a_traceback(cycle_cli):
    cycle_cli.env.update({"KAOPING_IMAP_HOST": "127.0.0.1", "KAOPING_IMAP_PORT": str(_free_port()), "KAOPING_IMAP_USER": "u",
                       "KAOPING_IMAP_SECURITY": "none"})
    result = cycle_cli("mail", "fetch")
    assert refused(result, "无法连接专用邮箱", "KAOPING_IMAP_PORT") and result.exit_code == 4


def test_wrong_password_and_missing_starttls(mailbox_env):
    mailbox_env.env["KAOPING_IMAP_PASSWORD"] = "wrong"
    assert refused(mailbox_env("mail", "fetch"), "登录被拒绝", "KAOPING_IMAP_PASSWORD")
    mailbox_env.env.pop("KAOPING_IMAP_PASSWORD")
    mailbox_env.env["KAOPING_IMAP_SECURITY"] = "starttls"  # the loopback dovecot offers no TLS: the password is not sent
    assert refused(mailbox_env("mail", "fetch"), "不提供 STARTTLS")


def test_fetch_takes_in_a_return_and_list_shows_it(mailbox_env, settings, imap_server, tmp_path):
    path = filled_self_assessment(settings, tmp_path, "150202")
    with IMAPClient("127.0.0.1", port=imap_server.port, ssl=False) as client:
        client.login(mailbox_env.env["KAOPING_IMAP_USER"], imap_server.password)
        client.append("INBOX", reply("liaison@150202.baotou.example", "东河区自评表", [("东河区自评表.docx", path.read_bytes())]))
    result = mailbox_env("mail", "fetch")
    assert result.exit_code == 0, result.output
    assert "已录入" in result.output and "共收取 1 封邮件，录入表格 1 份" in result.output and "考评已录入" in result.output
    listed = mailbox_env("mail", "list")
    assert listed.exit_code == 0 and "liaison@150202.baotou.example" in listed.output and "接收 1 份" in listed.output
    assert "共收取 0 封邮件" in mailbox_env("mail", "fetch").output


def test_fetch_while_another_fetch_holds_the_mailbox_is_refused_and_takes_nothing(mailbox_env, settings, imap_server, tmp_path):
    from kaoping.adapters.locks import exclusive

    path = filled_self_assessment(settings, tmp_path, "150202")
    with IMAPClient("127.0.0.1", port=imap_server.port, ssl=False) as client:
        client.login(mailbox_env.env["KAOPING_IMAP_USER"], imap_server.password)
        client.append("INBOX", reply("liaison@150202.baotou.example", "东河区自评表", [("东河区自评表.docx", path.read_bytes())]))
    env = mailbox_env.env
    port = int(env.get("KAOPING_IMAP_PORT") or 143)
    with exclusive(settings, f"mailbox:{env['KAOPING_IMAP_HOST']}:{port}:{env['KAOPING_IMAP_USER']}:INBOX") as held:
        assert held  # the intake flow, fetching right now
        result = mailbox_env("mail", "fetch")
        assert refused(result, "另一次收取正在处理专用邮箱", "请稍后再试")
    result = mailbox_env("mail", "fetch")
    assert result.exit_code == 0 and "共收取 1 封邮件，录入表格 1 份" in result.output, result.output
