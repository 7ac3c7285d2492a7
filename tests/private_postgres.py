"""A PostgreSQL server of a test's own, on a free loopback port, that the test may stop and restart
(``pg_ctl -m fast``) as an office's database is restarted — never the shared server at
127.0.0.1:5432, which other tests use at the same time.

The binaries are the installed PostgreSQL's (``pg_config --bindir``, else /usr/lib/postgresql/*/bin).
PostgreSQL refuses to run as root: as root (CI) the cluster belongs to the ``postgres`` user and its
commands run through ``runuser``. ``available()`` says why it cannot run here, if it cannot.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        result = subprocess.run([found, "--bindir"], capture_output=True, text=True)
        if result.returncode == 0 and (Path(result.stdout.strip()) / "initdb").exists():
            return Path(result.stdout.strip())
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return candidates[0].parent if candidates else None


def available() -> str:
    """"" when a private server can be started here, else the reason."""
    if _bindir() is None:
        return "PostgreSQL's initdb is not installed (Debian: postgresql)"
    if os.getuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a postgres user to own the cluster"
        if shutil.which("runuser") is None:
            return "running as root without runuser"
    return ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    """``with PrivatePostgres() as pg:`` — ``pg.url`` (database ``postgres``), ``pg.restart()``, ``pg.stop()``."""

    def __init__(self) -> None:
        self.bindir = _bindir()
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="kaoping-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres?connect_timeout=5"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}\n{result.stderr}\n{self._log_tail()}")
        return result

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def start(self) -> PrivatePostgres:
        if not self.data.exists():
            if os.getuid() == 0:
                shutil.chown(self.folder, "postgres", "postgres")
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync",
                      "--locale=C")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        """What an operator's ``pg_ctl -m fast restart`` does: every connection is ended, the server comes back."""
        self.stop(mode)
        self.start()

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.remove()
