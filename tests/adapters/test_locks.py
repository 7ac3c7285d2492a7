"""One fetch of the office mailbox at a time (``adapters.locks.exclusive``): on PostgreSQL an
advisory lock, on SQLite a file lock — taken by one holder, refused at once to another, and
released when the holder's process is killed (nothing stays locked after a crash)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from kaoping.adapters.locks import exclusive

HOLDER = """
import json, sys, time
from pathlib import Path
from kaoping.adapters.locks import exclusive
from kaoping.settings import Settings
spec = json.loads(sys.argv[1])
settings = Settings(database_url=spec["url"], var_dir=Path(spec["var"]), environment="development", _env_file=None)
with exclusive(settings, spec["name"]) as held:
    print("held" if held else "busy", flush=True)
    time.sleep(120)
"""


def test_one_holder_at_a_time_and_a_killed_holder_releases(settings):
    name = "mailbox:imap.example:993:kaoping:INBOX"
    with exclusive(settings, name) as first:
        assert first
        with exclusive(settings, name) as second:  # another connection / another open file: another holder
            assert not second
        with exclusive(settings, name + ":other") as other:  # another mailbox is not blocked
            assert other
    with exclusive(settings, name) as again:  # released at the end of the block
        assert again

    spec = json.dumps({"url": settings.effective_database_url, "var": str(settings.var_dir), "name": name})
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, spec], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with exclusive(settings, name) as mine:
            assert not mine  # held by the other process
        holder.send_signal(signal.SIGKILL)  # the process dies without letting go
        holder.wait(timeout=30)
        deadline = time.monotonic() + 30  # PostgreSQL notices the closed connection at once, in practice
        while True:
            with exclusive(settings, name) as mine:
                if mine:
                    break
            assert time.monotonic() < deadline, "the lock of a killed process was never released"
            time.sleep(0.2)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
