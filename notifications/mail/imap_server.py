"""A private IMAP server on loopback for the demo and the tests: Debian's dovecot
(``apt-get install dovecot-imapd``), started with a minimal configuration of its own in a
temporary folder — its own base_dir, a free port on 127.0.0.1, one static user, maildir
storage in the folder, plaintext login (loopback only) — as a child process that ``stop``
ends. A system dovecot (the Debian package's service) is never touched: different
base_dir, instance name and port.

Run as root (as CI does), dovecot refuses to run its login processes or to store mail as
root: they run as the package's ``dovenull`` and ``dovecot`` users, the folder is theirs.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"


class ImapServerUnavailable(RuntimeError):
    """dovecot is not installed or did not start (the message says what to do)."""


def dovecot_path() -> str | None:
    found = shutil.which("dovecot") or (DOVECOT if Path(DOVECOT).exists() else None)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _users() -> tuple[str, str, str, int, int]:
    """(login user, internal user, mail user, mail uid, mail gid) for this process."""
    me = pwd.getpwuid(os.getuid())
    if os.getuid() != 0:
        return me.pw_name, me.pw_name, me.pw_name, me.pw_uid, me.pw_gid

    def account(*names: str) -> pwd.struct_passwd:
        for name in names:
            try:
                return pwd.getpwnam(name)
            except KeyError:
                continue
        raise ImapServerUnavailable("以 root 运行时 dovecot 需要系统用户 dovecot / dovenull（或 nobody）：请重新安装 dovecot-imapd。")

    mail = account("dovecot", "nobody")
    return account("dovenull", "nobody").pw_name, mail.pw_name, mail.pw_name, mail.pw_uid, mail.pw_gid


def _reachable_by_others(folder: Path) -> bool:
    """Can another user (dovecot's, when we are root) pass through every folder above ``folder``?"""
    for parent in Path(folder).resolve().parents:
        if parent.exists() and not parent.stat().st_mode & 0o001:
            return False
    return True


class LocalImapServer:
    """``with LocalImapServer(user, password) as server:`` — ``server.port`` on 127.0.0.1."""

    def __init__(self, user: str = "office@kaoping.test", password: str = "kaoping-imap-test", mail_dir: Path | None = None):
        """``mail_dir``: where the mailboxes are kept (the demo keeps them under demo-output/);
        default, and always for the server's sockets: a short temporary folder, removed by ``stop``."""
        self.user, self.password = user, password
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="kaoping-imap-"))  # short: UNIX socket paths are limited
        self.mail_dir = Path(mail_dir) if mail_dir else self.folder / "mail"
        self.process: subprocess.Popen | None = None

    # ----------------------------------------------------------------- life cycle

    def _config(self) -> str:
        login, internal, _, uid, gid = _users()
        return f"""# kaoping: a private dovecot for the demo and tests (loopback only)
base_dir = {self.folder}/run
state_dir = {self.folder}/state
instance_name = kaoping-imap-{self.port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {self.folder}/dovecot.log
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
first_valid_uid = 1
passdb {{
  driver = static
  args = password={self.password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self.mail_dir}/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""

    def start(self) -> "LocalImapServer":
        binary = dovecot_path()
        if binary is None:
            raise ImapServerUnavailable("没有安装 dovecot（IMAP 服务器）：请运行 `apt-get install dovecot-imapd`。"
                                        " / dovecot is not installed: apt-get install dovecot-imapd.")
        _, _, _, uid, gid = _users()
        os.chmod(self.folder, 0o755)  # dovecot's own users must reach their sockets and the mail
        for sub in ("run", "state"):
            (self.folder / sub).mkdir(exist_ok=True)
        if os.getuid() == 0 and not _reachable_by_others(self.mail_dir):
            self.mail_dir = self.folder / "mail"  # e.g. under pytest's private tmp: dovecot's user could not enter it
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        if os.getuid() == 0:
            os.chown(self.mail_dir, uid, gid)
        config = self.folder / "dovecot.conf"
        config.write_text(self._config(), encoding="utf-8")
        with (self.folder / "stderr.log").open("wb") as stderr:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen([binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=stderr,
                                            start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(64).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.1)
        log = "\n".join(p.read_text(errors="replace")[-2000:] for p in (self.folder / "stderr.log", self.folder / "dovecot.log")
                        if p.exists())
        self.stop()
        raise ImapServerUnavailable(f"dovecot 未能在 127.0.0.1:{self.port} 启动：\n{log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the master ends its own children
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "LocalImapServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ----------------------------------------------------------------- what senders and tests do

    def env(self) -> dict[str, str]:
        """The KAOPING_IMAP_* settings that point kaoping at this server."""
        return {"KAOPING_IMAP_HOST": "127.0.0.1", "KAOPING_IMAP_PORT": str(self.port), "KAOPING_IMAP_SECURITY": "none",
                "KAOPING_IMAP_USER": self.user, "KAOPING_IMAP_PASSWORD": self.password}

    def client(self):
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=30)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX", when: datetime | None = None, client=None) -> None:
        """Deliver a message as the mail server does (IMAP APPEND), with its arrival time."""
        if client is not None:
            client.append(folder, raw, msg_time=when)
            return
        with self.client() as own:
            own.append(folder, raw, msg_time=when)

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        """The raw messages in a folder (not deleted), oldest first; [] if the folder does not exist."""
        with self.client() as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = sorted(client.search(["NOT", "DELETED"]))
            if not uids:
                return []
            return [data[b"BODY[]"] for _, data in sorted(client.fetch(uids, [b"BODY.PEEK[]"]).items())]
