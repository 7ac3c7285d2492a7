"""The flows' sender holds a slot of the Prefect global concurrency limit ``kaoping-smtp`` (issue 29 item 3): the
limit is made on the server when it is missing (``KAOPING_SMTP_SENDERS`` slots), an office's own limit is kept,
and the slot is given back when the batch is sent."""

from __future__ import annotations

import pytest
from kaoping.models import MessageStatus, OutboxMessage
from kaoping.notifications.outbox import queue
from sqlmodel import select

from kaoping import db
from kaoping.settings import get_settings
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _limit():
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name("kaoping-smtp")


def test_the_flows_send_under_the_kaoping_smtp_limit(migrated, monkeypatch, prefect_server):
    from kaoping.adapters import prefect_runs
    from kaoping.flows.tasks import send_outbox as send_task
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    @flow(name="send_outbox_under_test")
    def send_outbox() -> dict:  # the task as the cycle and the scheduled flows run it
        return send_task()

    with get_client(sync_client=True) as client:  # a server without the limit (another test may have made it)
        try:
            client.delete_global_concurrency_limit_by_name("kaoping-smtp")
        except ObjectNotFound:
            pass
    prefect_runs._limit_checked.clear()
    server = SmtpServer().start()
    try:
        env = {"KAOPING_DATABASE_URL": migrated.database_url, "KAOPING_VAR_DIR": str(migrated.var_dir),
               "KAOPING_ENVIRONMENT": "development", "KAOPING_SMTP_HOST": "127.0.0.1",
               "KAOPING_SMTP_PORT": str(server.port), "KAOPING_SMTP_SENDERS": "3"}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        with db.session_scope(migrated) as session:
            for i in range(6):
                queue(session, migrated, key=f"k-{i}", kind="reminder", to=[f"liaison{i}@150202.baotou.example"],
                      subject=f"【考评】催报（{i}）", text="您好。", cycle_code="2022H1")
        assert send_outbox() == {"sent": 6, "failed": 0, "deferred": 0}
        limit = _limit()
        assert limit.limit == 3 and limit.active_slots == 0  # made with the configured slots; the slot given back
        with get_client(sync_client=True) as client:  # an office sets its own: kept
            from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

            client.update_global_concurrency_limit("kaoping-smtp", GlobalConcurrencyLimitUpdate(limit=1))
        prefect_runs._limit_checked.clear()
        with db.session_scope(migrated) as session:
            queue(session, migrated, key="k-late", kind="reminder", to=["liaison@150203.baotou.example"],
                  subject="【考评】催报", text="您好。", cycle_code="2022H1")
        assert send_outbox()["sent"] == 1
        assert _limit().limit == 1
    finally:
        server.stop()
        get_settings.cache_clear()
    assert len(server.received) == 7
    with db.session_scope(migrated) as session:
        assert {m.status for m in session.exec(select(OutboxMessage))} == {MessageStatus.sent}
