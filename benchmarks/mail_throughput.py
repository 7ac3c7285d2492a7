"""Email throughput (issue 5): 1,000 messages with a Word attachment to a local SMTP server
(aiosmtpd on loopback, in a process of its own as a real server would be), delivered from the outbox with one connection for
the batch, against one connection per message, in the same run. Target: > 50 messages/s
with reuse on a 2-core machine."""

from __future__ import annotations

import json
import socket
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def serve(port: int, counter, ready) -> None:
    """The sink server, in its own process (a server in this process would share the GIL)."""

    class Counting(Sink):
        async def handle_DATA(self, server, session, envelope):
            with counter.get_lock():
                counter.value += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    import threading

    threading.Event().wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(workdir: Path, n: int = 1000) -> dict:
    import multiprocessing

    from kaoping import db
    from kaoping.notifications.delivery import send_pending
    from kaoping.settings import Settings

    from kaoping.notifications.outbox import Attachment, queue

    port = free_port()
    context = multiprocessing.get_context("spawn")
    counter, ready = context.Value("i", 0), context.Event()
    server = context.Process(target=serve, args=(port, counter, ready), daemon=True)
    server.start()
    ready.wait(30)
    figures = {}
    try:
        attachment = Attachment("2022H1-ZP001-东河区-自评表.docx", bytes(range(256)) * 160)  # ~40 KB, like a form
        for mode, connections in (("reuse", 1), ("pool", 2), ("per_message", 1)):
            s = Settings(database_url=f"sqlite:///{workdir / f'{mode}.sqlite3'}", var_dir=workdir / mode,
                         smtp_host="127.0.0.1", smtp_port=port, environment="development", smtp_connections=connections,
                         _env_file=None)
            db.upgrade(s)
            with db.session_scope(s) as session:
                for i in range(n):
                    queue(session, s, key=f"bench-{i}", kind="form_issued", to=[f"liaison{i}@baotou.example"],
                          subject=f"【考评】请填报自评表（{i}）", text="您好，附件为自评表。", html="<p>您好，附件为自评表。</p>",
                          attachments=[attachment], cycle_code="2022H1")
            before = counter.value
            t = time.perf_counter()
            report = send_pending(s, reuse_connection=(mode != "per_message"))
            elapsed = time.perf_counter() - t
            assert len(report.sent) == n and counter.value - before == n
            figures[f"{mode}_per_s"] = n / elapsed
            figures[f"{mode}_connections"] = report.connections
    finally:
        server.terminate()
        server.join(10)
    figures["messages"] = n
    return figures


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        f = run(Path(tmp))
    print("Email throughput: 1,000 messages with a 40 KB attachment to a loopback SMTP server (target > 200/s)")
    print(f"one connection for the batch: {f['reuse_per_s']:.0f} messages/s ({f['reuse_connections']} connection)\n"
          f"a pool (KAOPING_SMTP_CONNECTIONS=2): {f['pool_per_s']:.0f} messages/s ({f['pool_connections']} connections)\n"
          f"one connection per message:   {f['per_message_per_s']:.0f} messages/s ({f['per_message_connections']} connections)\n"
          f"ratio {f['reuse_per_s'] / f['per_message_per_s']:.2f}×")
    print("RESULT " + json.dumps(f))


if __name__ == "__main__":
    main()
