"""Issue 17, a second window after a send-back: the approver sends the cycle back (退回修改) after the
objection window; re-signed without a change, the approval goes on; re-signed with changed results,
every unit gets a new provisional 反馈函 (征求意见稿, marked as re-sent, with a new objection form) and
a new window, and the approval waits for it (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from datetime import date, datetime

import docx
import pytest
from kaoping.models import Objection, OutboxMessage
from sqlmodel import select

from kaoping import db
from kaoping.adapters.word.identity import identity_from_properties
from kaoping.adapters.word.package import read_custom_properties
from kaoping.domain.errors import Conflict
from kaoping.domain.incoming import IncomingMessage
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.objections import record as objections
from kaoping.services.objections.window import approval_blockers, window_state
from tests.factories import (
    adjust_score,
    decide_objection,
    give_signoff,
    open_objection_window,
    record_objection,
    request_signoff,
    scored_cycle,
    sign_off,
)

LIAISON = "liaison@150204.baotou.example"  # 青山区


def _send_back(settings, comments: str) -> None:
    request_signoff(settings, "approval")
    from tests.factories import emailed_code

    code = emailed_code(settings)
    assert give_signoff(settings, "approval", code=code, approve=False, comments=comments).ok


def _state(settings, today: date):
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        return window_state(session, cycle, today=today), approval_blockers(session, cycle, today=today)


def test_a_send_back_that_changes_the_results_opens_a_second_window(initialized_db, tmp_path):
    settings = initialized_db
    scored_cycle(settings, tmp_path)
    sign_off(settings)
    first = open_objection_window(settings, today=date(2022, 7, 11))
    [oid] = record_objection(settings, unit="东河区", numbers=[19], text="偏低",
                             received_at=datetime(2022, 7, 12, 10, tzinfo=settings.tz))
    decide_objection(settings, oid, uphold=True, score="0.5", reason="核实属实")  # told to the unit: no new round for it
    assert _state(settings, date(2022, 7, 20))[0].step == "done"

    # Sent back, re-verified without a change (维持原分): the units have seen these results; the approval goes on.
    _send_back(settings, "请再核实市卫健委得分")
    sign_off(settings)
    state, blockers = _state(settings, date(2022, 7, 20))
    assert state.step == "done" and not state.again and blockers == []

    # Sent back again, and this time the team changes a score before signing: a second round is due.
    _send_back(settings, "青山区指标57请复核")
    adjust_score(settings, unit="青山区", indicator=57, score="4", reason="退回后复核，按验收报告调整")
    sign_off(settings)
    state, blockers = _state(settings, date(2022, 7, 20))
    assert state.step == "open" and state.again and "重新发送征求意见稿" in blockers[0]
    assert "退回修改后已重新核实签字" in state.waiting_for()
    with pytest.raises(Conflict, match="重新发送征求意见稿"):
        request_signoff(settings, "approval")
    # Too late for the first round's window, and the cycle is verified again: refused until the new letters go out.
    with pytest.raises(Conflict):
        record_objection(settings, unit="青山区", numbers=[57], text="偏低",
                         received_at=datetime(2022, 7, 20, 9, tzinfo=settings.tz))

    second = open_objection_window(settings, today=date(2022, 7, 20))  # Wednesday: Thu, Fri, Mon
    assert (second.round, second.letters, second.queued, second.skipped) == (2, 36, 36, False)
    assert second.closes_on == date(2022, 7, 25) and first.closes_on == date(2022, 7, 14)
    assert open_objection_window(settings, today=date(2022, 7, 20)).skipped  # a re-run sends nothing twice
    with db.session_scope(settings) as session:
        letters = session.exec(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.like("objection-letter:2022H1:150204%")).order_by(OutboxMessage.id)).all()
        assert [m.idempotency_key for m in letters] == ["objection-letter:2022H1:150204", "objection-letter:2022H1:150204:2"]
        again = letters[1]
        assert "重新发送" in again.subject and "此前发送的征求意见稿作废" in again.text_body
        assert "重新发送" not in letters[0].subject
        replied_to = again.message_id
    round_dir = settings.var_dir / "objections" / "2022H1"
    assert (round_dir / "150204-青山区-反馈函（征求意见稿）.docx").exists()  # the first round's letter stays as sent
    form = (round_dir / "第2轮" / "150204-青山区-异议表.docx").read_bytes()
    identity, _ = identity_from_properties(read_custom_properties(form))
    assert (identity.version, identity.subject) == (2, "150204")
    draft = docx.Document(io.BytesIO((round_dir / "第2轮" / "150204-青山区-反馈函（征求意见稿）.docx").read_bytes()))
    item_57 = next(r for r in draft.tables[0].rows if r.cells[0].text == "57")
    assert item_57.cells[3].text.startswith("4")  # the changed score, as the units now see it

    # A reply to the new letter, within the new window, is an objection; the approval waits for the window.
    with db.session_scope(settings) as session:
        got = objections.take_reply(session, settings, IncomingMessage(
            message_id="<round2@example>", sender=LIAISON, subject="回复：征求意见稿", text="指标序号：43\n异议内容：偏低",
            received_at=datetime(2022, 7, 21, 9, tzinfo=settings.tz), in_reply_to=replied_to))
    assert got.accepted and got.unit == "青山区"
    state, blockers = _state(settings, date(2022, 7, 22))
    assert state.step == "wait" and any("2022年7月25日" in b for b in blockers)
    decide_objection(settings, got.objection_ids[0], uphold=False, reason="复核无误")
    assert _state(settings, date(2022, 7, 26))[1] == []
    with db.session_scope(settings) as session:
        assert len(session.exec(select(Objection)).all()) == 2
