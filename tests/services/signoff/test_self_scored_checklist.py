"""Issue 27, item 3: the 专班 verifies the lead assessors' own items item by item or by listed group.

The verification sign-off email attaches the 自评项核实清单 (each lead assessor's own items with what was
reported and the score it gave itself); the verifier confirms every listed group or the groups named;
each item records what, who, when and how; a plain 同意 confirms nothing and says so; the 报告 says
"逐项核实" only for items confirmed one by one."""

from __future__ import annotations

import io

import pytest
from kaoping.models import ItemVerification, OutboxBlob, OutboxMessage
from sqlmodel import select

from kaoping import db
from kaoping.domain.replies import AMBIGUOUS, APPROVE, read_signoff_reply
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.reports.disclosures import disclosures
from kaoping.services.scoring.checklist import GROUP_CONFIRMED, checklist
from kaoping.services.scoring.results import compute_cycle
from kaoping.services.signoff.signatures import give_signoff
from tests.factories import accept_default_points, ask_signer, scored_cycle, signoff_reply, verify_self_scored


#: Confirming the listed groups is checked on PostgreSQL too; how a reply and the email name them does not depend on
#: the database (SQLite only: tests/conftest.py).
BOTH_BACKENDS = {"test_the_email_lists_the_items_and_groups_are_confirmed_as_listed"}


def test_a_reply_names_the_groups_it_confirms():
    named = read_signoff_reply("同意，并确认市工信局、市审批服务局自评项\n验证码：123456")
    assert (named.decision, named.confirm_groups, named.confirm_self_scored) == (APPROVE, ("市工信局", "市审批服务局"), False)
    every = read_signoff_reply("同意，并确认自评项 123456")
    assert (every.decision, every.confirm_groups, every.confirm_self_scored) == (APPROVE, (), True)
    assert read_signoff_reply("同意 123456").confirm_self_scored is False  # a plain 同意 confirms nothing
    assert read_signoff_reply("同意，并确认不对的自评项 123456").decision == AMBIGUOUS


def _verification_text(settings) -> str:
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        inputs, results = compute_cycle(session, cycle, detailed=True)
        return disclosures(session, cycle, inputs, results).verification


@pytest.fixture
def unverified(initialized_db, tmp_path):
    settings = initialized_db
    scored_cycle(settings, tmp_path, verify=False)
    accept_default_points(settings)
    return settings


def test_the_email_lists_the_items_and_groups_are_confirmed_as_listed(unverified):
    import openpyxl

    settings = unverified
    code, message_id, _ = ask_signer(settings)
    with db.session_scope(settings) as session:
        groups = checklist(session, get_cycle(session, "2022H1"))
        message = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_request")).one()
        attachments = [(a["filename"], session.exec(select(OutboxBlob.data).where(OutboxBlob.sha256 == a["sha256"])).one())
                       for a in message.attachments]
        text = message.text_body
    assert "自评项核实清单" in text and "同意，并确认市工信局、市审批服务局自评项" in text
    assert all(f"{lead}：自评项 {len(items)} 项" in text for lead, items in groups.items())
    total = sum(len(items) for items in groups.values())
    # Beside the brief's draft 通报 (and, before the items are confirmed, the provisional workbook): the list.
    [(name, data)] = [(n, d) for n, d in attachments if "自评项核实清单" in n]  # the workbook, one row per item
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert "自评项核实清单" in name and sheet.max_row - 2 == total
    assert [c.value for c in sheet[2]][:7] == ["牵头考核单位（自评）", "指标", "指标内容", "完成情况", "完成进度", "佐证材料", "自评分"]

    # A plain 同意 confirms nothing: refused, the items stay 待核实, and the answer says so.
    plain = signoff_reply(settings, f"同意 {code}", to=message_id)
    assert not plain.accepted and "未确认的仍为待核实" in plain.reason
    code, message_id, _ = ask_signer(settings)
    # Some groups only: refused, naming the groups left; nothing is recorded.
    leads = list(groups)
    with db.session_scope(settings) as session:
        partial = give_signoff(session, settings, get_cycle(session, "2022H1"), "verification", code=code, approve=True,
                               actor="cli:测试", confirm_groups=leads[:1])
    assert not partial.ok and "仍为待核实" in partial.message and leads[1] in partial.message
    with db.session_scope(settings) as session:
        assert session.exec(select(ItemVerification)).first() is None
    # Every group named, by reply: each item recorded with its group, the signer and how.
    code, message_id, _ = ask_signer(settings)
    signed = signoff_reply(settings, f"同意，并确认{'、'.join(leads)}自评项\n验证码：{code}", to=message_id)
    assert signed.accepted, signed.reason
    with db.session_scope(settings) as session:
        rows = session.exec(select(ItemVerification).where(ItemVerification.current)).all()
    assert len(rows) == total
    assert all(r.reason.startswith(GROUP_CONFIRMED) and "回复签字邮件" in r.reason and settings.verifier_email in r.by
               for r in rows)
    said = _verification_text(settings)
    assert f"{total}项由核实签字人在自评项核实清单逐项列出后按牵头考核单位分组确认" in said and "逐项核实" not in said.replace(
        "未逐项核实", "")


def test_a_bulk_confirmation_is_not_called_item_by_item(unverified):
    settings = unverified
    verify_self_scored(settings)  # kaoping verify confirm --all-self-scored
    said = _verification_text(settings)
    assert "由专班一次确认全部自评项，未逐项核实" in said and "专班逐项核实" not in said


def test_the_cli_confirms_named_groups_only(initialized, settings, tmp_path):
    """``kaoping signoff give --confirm-group``: the groups left unconfirmed are named; nothing is signed."""
    from tests.factories import emailed_code, request_signoff

    scored_cycle(settings, tmp_path, verify=False)
    accept_default_points(settings)
    request_signoff(settings, "verification")
    result = initialized("signoff", "give", "--cycle", "2022H1", "--stage", "verification", "--code",
                         emailed_code(settings, "verification"), "--approve", "--confirm-group", "市工信局")
    assert result.exit_code != 0 and "仍为待核实" in result.output and "市审批服务局" in result.output
    with db.session_scope(settings) as session:
        assert session.exec(select(ItemVerification)).first() is None
        assert get_cycle(session, "2022H1").status == "open"
