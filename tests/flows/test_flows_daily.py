"""The scheduled flows under a real Prefect server (prefect_test_harness, session-scoped),
with a real SMTP server on loopback: reminders and the inbox intake."""

from __future__ import annotations

from datetime import date

import docx
import pytest
from kaoping.models import FormKind, Submission
from sqlmodel import select

from kaoping import db
from kaoping.adapters.word.layout import fill_cell
from kaoping.settings import get_settings
from tests.factories import build, open_cycle


@pytest.fixture
def forms_out(flow_env, tmp_path):
    """2022H1 open, the self-assessments out to 东河区 and 市卫健委, due Wednesday 2022-07-06."""
    open_cycle(flow_env)
    build(flow_env, FormKind.self_assessment, tmp_path, "150202", "wjw", deadline=date(2022, 7, 6))
    return flow_env


def test_reminders_flow_sends_on_working_days_only(forms_out, smtp):
    from kaoping.flows.daily import reminders

    weekend = reminders(today="2022-07-02")
    # No reminder on a Saturday; only the daily audit anchor goes to the 专班 mailbox (issue 24).
    assert weekend["workday"] is False and weekend["sent"] == 1 and weekend["anchor_mailed"]
    assert [r.rcpt_tos for r in smtp.received] == [[forms_out.office_email]]
    result = reminders(today="2022-07-05")  # 1 working day before 07-06
    assert sorted(result["reminders"]) == ["东河区", "市卫健委"] and result["sent"] == 2  # the log did not grow: no anchor
    units = [r.rcpt_tos[0] for r in smtp.received if r.rcpt_tos != [forms_out.office_email]]
    assert sorted(units) == ["liaison@150202.baotou.example", "liaison@wjw.baotou.example"]
    again = reminders(today="2022-07-05")  # a re-run sends nothing twice
    assert again["queued"] == 0 and again["sent"] == 0 and len(smtp.received) == 3
    # The runs are named for what they did (no "athletic-dodo"), under the flow's Chinese name.
    names = [(r.name, flow) for r, flow in newest_runs(3)]
    assert names == [("每日催报 · 2022-07-05", "每日催报")] * 2 + [("每日催报 · 2022-07-02", "每日催报")]


def newest_runs(n: int) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=n)
        return [(r, client.read_flow(r.flow_id).name) for r in runs]


def test_intake_flow_moves_files_and_replies(forms_out, settings, smtp, tmp_path, monkeypatch):
    from kaoping.flows.daily import intake

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.setenv("KAOPING_INBOX_DIR", str(inbox))  # the folder is the settings', never a run's parameter
    get_settings.cache_clear()
    with db.session_scope(settings) as session:
        from kaoping.models import IssuedForm

        path = session.exec(select(IssuedForm.path).where(IssuedForm.subject == "wjw")).one()
    document = docx.Document(path)
    table = next(t for t in document.tables if len(t.rows[0].cells) == 7)
    fill_cell(table.rows[1].cells[5], "完成")
    document.save(inbox / "卫健委自评表.docx")
    (inbox / "卫健委自评表.docx.sender").write_text("liaison@wjw.baotou.example", encoding="utf-8")
    (inbox / "坏文件.docx").write_bytes(b"")
    outcomes = intake(received_at="2022-07-05T16:20:00")
    assert {o["file"]: o["accepted"] for o in outcomes} == {"卫健委自评表.docx": True, "坏文件.docx": False}
    assert [(r.name, flow) for r, flow in newest_runs(1)] == [("收件录入 · 2022-07-05 16:20", "收件录入")]
    assert (inbox / "accepted" / "卫健委自评表.docx").exists() and (inbox / "refused" / "坏文件.docx").exists()
    assert not any(p.is_file() for p in inbox.iterdir())
    with db.session_scope(settings) as session:
        assert session.exec(select(Submission)).one().unit_id
    [receipt] = smtp.received
    assert receipt.rcpt_tos == ["liaison@wjw.baotou.example"] and "回执" in receipt.message["Subject"]
    assert intake() == []  # nothing left: a re-run does nothing


def test_flow_parameters_are_described_in_chinese_for_the_ui():
    from kaoping.flows.daily import intake, reminders

    assert "默认今天" in reminders.parameters.properties["today"]["description"]
    assert "收件时间" in intake.parameters.properties["received_at"]["description"]
    assert "inbox" not in intake.parameters.properties  # the folder is the settings' (issue 24)


def test_annual_flow_writes_the_documents_the_workbook_and_an_artifact(flow_env, settings, tmp_path):
    import asyncio

    import openpyxl
    from kaoping.flows.annual import annual
    from prefect.client.orchestration import get_client

    from tests.factories import scored_cycle

    scored_cycle(settings, tmp_path, "2022H1", seed=1)
    scored_cycle(settings, tmp_path, "2022H2", seed=2)
    path = annual(year=2022)  # written under KAOPING_VAR_DIR/reports: no run names a path on the worker
    out = settings.var_dir / "reports"
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["旗县区、稀土高新区", "市直部门、单位"]
    assert (out / "2022年度数字政府建设考评结果通报.docx").exists()  # a preview: no number taken
    assert (out / "2022年度数字政府建设考评情况报告.docx").exists()

    async def latest():
        async with get_client() as client:
            return await client.read_latest_artifacts()

    keys = {a.key for a in asyncio.run(latest())}
    assert "kaoping-annual-2022" in keys
