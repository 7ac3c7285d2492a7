"""Email throughput (issues 5, 29): 1,000 messages with a Word attachment to a local SMTP server
(aiosmtpd on loopback, in a process of its own as a real server would be), delivered from the outbox
with one connection for the batch, with a pool of two, and with one connection per message, in the
same run. Target: > 200 messages/s with one connection on a 2-core machine.

aiosmtpd does not offer PIPELINING (RFC 2920) in its EHLO reply, though it reads commands one line at
a time and so answers pipelined ones in order; Postfix, Exchange and the hosted 政务邮箱 servers offer
it. The one-connection mode runs twice: against aiosmtpd as it is, and against the same server
offering PIPELINING.

The floor: the same messages, built beforehand, sent by a bare ``smtplib.sendmail`` loop over one
connection — no database, no building — what the server and the loopback allow. For each mode, the
CPU time per message of the sender's process and of the server's.

``python -m benchmarks.mail_throughput [--messages N]``. It imports kaoping from wherever the
interpreter finds it, so another checkout's virtualenv runs the same benchmark on that code."""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import socket
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller


def serve(port: int, counter, ready, pipelining) -> None:
    """The sink server, in its own process (a server in this process would share the GIL); it offers
    PIPELINING while ``pipelining`` is set."""

    class Counting:
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            session.host_name = hostname
            return [*responses[:-1], "250-PIPELINING", responses[-1]] if pipelining.value else responses

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


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: mode: (connections, one connection per message, the server offers PIPELINING)
MODES = {
    "reuse": (1, False, False),
    "reuse_pipelining": (1, False, True),
    "pool": (2, False, False),
    "per_message": (1, True, False),
}


def run(workdir: Path, n: int = 1000) -> dict:
    import multiprocessing

    from kaoping import db
    from kaoping.notifications.delivery import build_email, send_pending
    from kaoping.notifications.outbox import Attachment, queue
    from kaoping.settings import Settings

    port = free_port()
    context = multiprocessing.get_context("spawn")
    counter, ready, pipelining = context.Value("i", 0), context.Event(), context.Value("b", 0)
    server = context.Process(target=serve, args=(port, counter, ready, pipelining), daemon=True)
    server.start()
    ready.wait(30)
    figures = {}
    try:
        attachment = Attachment("2022H1-ZP001-东河区-自评表.docx", bytes(range(256)) * 160)  # ~40 KB, like a form
        for mode, (connections, per_message, offered) in MODES.items():
            s = Settings(database_url=f"sqlite:///{workdir / f'{mode}.sqlite3'}", var_dir=workdir / mode,
                         smtp_host="127.0.0.1", smtp_port=port, environment="development", smtp_connections=connections,
                         _env_file=None)
            db.upgrade(s)
            with db.session_scope(s) as session:
                for i in range(n):
                    queue(session, s, key=f"bench-{i}", kind="form_issued", to=[f"liaison{i}@baotou.example"],
                          subject=f"【考评】请填报自评表（{i}）", text="您好，附件为自评表。", html="<p>您好，附件为自评表。</p>",
                          attachments=[attachment], cycle_code="2022H1")
            pipelining.value = int(offered)
            before, server_cpu, own_cpu = counter.value, _cpu(server.pid), time.process_time()
            t = time.perf_counter()
            report = send_pending(s, reuse_connection=not per_message)
            elapsed = time.perf_counter() - t
            assert len(report.sent) == n and counter.value - before == n
            figures[f"{mode}_per_s"] = n / elapsed
            figures[f"{mode}_connections"] = report.connections
            figures[f"{mode}_sender_cpu_ms"] = (time.process_time() - own_cpu) / n * 1000
            figures[f"{mode}_server_cpu_ms"] = (_cpu(server.pid) - server_cpu) / n * 1000
        # The floor: the last mode's messages, built beforehand, through a bare smtplib loop (no PIPELINING).
        from kaoping.models import OutboxMessage
        from sqlmodel import select

        with db.session_scope(s) as session:
            rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
            messages = [(row.to, build_email(s, row, session)) for row in rows]
        pipelining.value = 0
        before, server_cpu, own_cpu = counter.value, _cpu(server.pid), time.process_time()
        t = time.perf_counter()
        connection = smtplib.SMTP("127.0.0.1", port)
        for to, raw in messages:
            connection.sendmail(s.mail_from, to, raw)
        connection.quit()
        elapsed = time.perf_counter() - t
        assert counter.value - before == n
        figures["floor_per_s"] = n / elapsed
        figures["floor_sender_cpu_ms"] = (time.process_time() - own_cpu) / n * 1000
        figures["floor_server_cpu_ms"] = (_cpu(server.pid) - server_cpu) / n * 1000
    finally:
        server.terminate()
        server.join(10)
    figures["messages"] = n
    figures["load_average"] = os.getloadavg()[0]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    n = parser.parse_args().messages
    with tempfile.TemporaryDirectory() as tmp:
        f = run(Path(tmp), n)
    print(f"Email throughput: {n:,} messages with a 40 KB attachment to a loopback SMTP server (target > 200/s)")
    labels = {"reuse": "one connection for the batch", "reuse_pipelining": "one connection, server offers PIPELINING",
              "pool": "a pool (KAOPING_SMTP_CONNECTIONS=2)", "per_message": "one connection per message"}
    for mode, label in labels.items():
        print(f"{label:42s} {f[f'{mode}_per_s']:5.0f} messages/s ({f[f'{mode}_connections']} connection(s); CPU per message:"
              f" sender {f[f'{mode}_sender_cpu_ms']:.2f} ms, server {f[f'{mode}_server_cpu_ms']:.2f} ms)")
    print(f"{'floor: smtplib.sendmail, messages prebuilt':42s} {f['floor_per_s']:5.0f} messages/s (CPU per message: sender "
          f"{f['floor_sender_cpu_ms']:.2f} ms, server {f['floor_server_cpu_ms']:.2f} ms)")
    print(f"load average at the end: {f['load_average']:.1f}")
    print("RESULT " + json.dumps(f))


if __name__ == "__main__":
    main()
