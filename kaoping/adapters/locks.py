"""One holder at a time, across processes: the office mailbox is fetched by one run at a time
(the intake flow every 10 minutes, an operator's `kaoping mail fetch`).

On PostgreSQL the lock is a session-level advisory lock on a connection held for the block (works
across hosts that share the database); on SQLite, whose users share one machine, an ``flock`` on a
file under ``var_dir/locks``. Either is released when the block ends and also when the process
dies (the connection closes, the file is closed), so a crash never leaves it taken. On PostgreSQL a
database restart ends it too: the holder notices the outage (the mailbox stops its run) and the
lock is not released twice.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from kaoping import db
from kaoping.settings import Settings


@contextmanager
def exclusive(settings: Settings, name: str) -> Iterator[bool]:
    """Try to take the lock ``name`` for the block, without waiting: yields True if this process
    holds it, False if another one does (then do nothing)."""
    digest = hashlib.sha256(name.encode()).digest()
    if settings.effective_database_url.startswith("postgresql"):
        key = int.from_bytes(digest[:8], "big", signed=True)
        with db.get_engine(settings).connect() as connection:
            held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
            try:
                yield held
            finally:
                if held:
                    try:
                        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    except Exception as exc:  # noqa: BLE001 - the lock ended with its connection
                        if db.unavailable(exc) is None:
                            raise
                        # The database restarted (or the connection dropped) during the block: the lock
                        # went with the connection; the block already stopped for the outage.
        return
    folder = settings.var_dir / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{digest.hex()[:16]}.lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
