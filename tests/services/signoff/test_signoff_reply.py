"""Sign-off by email reply on a real session (SQLite and PostgreSQL): the signer's reply signs
through the same checks as the dialog; every other reply is refused with a reply email saying
why; the same message is never counted twice; the waiting run is named for release."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy

from kaoping.models import (
    AuditEntry,
    CycleStatus,
    OutboxMessage,
    SignoffReply,
    SignoffRequest,
)
from kaoping.notifications.delivery import build_email
from sqlmodel import select

from kaoping import db
from kaoping.domain.incoming import IncomingMessage
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.signoff.reply import ANSWERS_PER_DAY, take_reply
from kaoping.services.signoff.signatures import signoff_state
from tests.factories import WAITING_RUN as RUN
from tests.factories import ask_signer, scored_cycle, signoff_reply

CODE = "2022H1"
ask, reply = ask_signer, signoff_reply  # (tests/factories.py) the flow asks the signer; the signer's reply is taken in


#: What a reply leaves in the database (the signature, the counted tries, a reply taken once) is checked on PostgreSQL
#: too; how a reply is read and answered does not depend on the database (SQLite only: tests/conftest.py).
BOTH_BACKENDS = {"test_the_signers_reply_with_the_code_signs_and_names_the_waiting_run",
                 "test_a_wrong_code_is_counted_and_refused_and_a_replayed_reply_is_not_counted_twice",
                 "test_five_wrong_codes_by_reply_lock_the_request_and_release_the_run_for_a_new_code",
                 "test_a_message_without_message_id_is_still_taken_once"}


def quoted_request(code: str) -> str:
    return ("\n\n------------------ 原始邮件 ------------------\n发件人: \"数字政府专班\"<kaoping@baotou.example>;\n"
            "发送时间: 2022年7月9日(星期六) 上午1:30\n主题: 【请审定】\n\n专班负责人：\n"
            f"您的一次性验证码：{code}（仅限本人使用）\n签字办法：第一行写“同意”，或写“退回修改：意见……”\n")


def answers_to(settings, address: str) -> list[OutboxMessage]:
    with db.session_scope(settings) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind.like("signoff_reply_%"))
                                 .order_by(OutboxMessage.id)).all())


def status(settings) -> str:
    with db.session_scope(settings) as session:
        return get_cycle(session, CODE).status


def latest(settings) -> SignoffRequest:
    with db.session_scope(settings) as session:
        return session.exec(select(SignoffRequest).order_by(SignoffRequest.id.desc())).first()


def test_the_signers_reply_with_the_code_signs_and_names_the_waiting_run(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    code, request_id, subject = ask(settings)
    outcome = reply(settings, f"同意。\n验证码：{code[:3]} {code[3:]}\n发自我的iPhone" + quoted_request(code), to=request_id,
                    sender=settings.verifier_email.upper(), message_id="<yes-1@mail.baotou.example>")
    assert outcome.accepted and outcome.decision == "approve" and outcome.flow_run_id == RUN and outcome.answered
    assert status(settings) == CycleStatus.verified
    [confirmation] = answers_to(settings, settings.verifier_email)
    assert confirmation.kind == "signoff_reply_accepted" and confirmation.to == [settings.verifier_email]
    assert confirmation.in_reply_to == "<yes-1@mail.baotou.example>" and "已签字" in confirmation.subject
    assert code not in confirmation.text_body and "同意" in confirmation.text_body
    sent = email.message_from_bytes(build_email(settings, confirmation), policy=policy.default)
    assert sent["In-Reply-To"] == "<yes-1@mail.baotou.example>" and sent["References"] == "<yes-1@mail.baotou.example>"
    with db.session_scope(settings) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "signoff.approve.verification")).one()
        kept = session.exec(select(SignoffReply)).one()
        state = signoff_state(session, cycle_code=CODE, stage="verification")
    assert entry.after["reply_message_id"] == "<yes-1@mail.baotou.example>" and entry.after["code_from"] == "reply"
    assert entry.after["via"].startswith("mail:") and entry.actor.startswith("专班负责人")
    assert kept.fate == "accepted" and code not in kept.own_text and "●●●●●●" in kept.own_text
    assert state.done and state.answers == 1  # the released run's question key is used up


def test_a_rejection_by_reply_sends_the_cycle_back_and_stops_the_waiting_run(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    code, request_id, _ = ask(settings)
    outcome = reply(settings, f"退回修改：请再核实市卫健委的实地调研得分。{code}" + quoted_request(code), to=request_id)
    assert outcome.accepted and outcome.decision == "reject" and outcome.flow_run_id == RUN
    assert latest(settings).comments == "请再核实市卫健委的实地调研得分。" and status(settings) == CycleStatus.open
    [told] = answers_to(settings, settings.verifier_email)  # 已退回, not 已签字 (issue 26 item 7)
    assert told.subject.startswith("【已退回】") and "签字" not in told.subject and "已签字" not in told.text_body
    assert "退回意见记录在案" in told.text_body and "将再次提请您签字" in told.text_body
    with db.session_scope(settings) as session:
        state = signoff_state(session, cycle_code=CODE, stage="verification")
    # The run that waited stops (no new code); a run started later (another id) asks again.
    assert (state.done, state.usable, state.decision, state.decision_run) == (False, False, "reject", RUN)


def test_the_quoted_code_counts_only_in_a_direct_reply(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    code, request_id, subject = ask(settings)
    # Matched by its subject only (the client dropped In-Reply-To): the quoted code does not count —
    # and, shown in a reply that did not sign, it is spent; the waiting run sends a new one (issue 24).
    refused = reply(settings, "同意" + quoted_request(code), subject="回复：" + subject)
    assert refused.fate == "refused" and "没有找到验证码" in refused.reason and status(settings) == CycleStatus.open
    assert refused.flow_run_id == RUN and latest(settings).status == "spent"
    code, request_id, subject = ask(settings)
    # A direct reply (References name the request) from the signer: the quoted code signs.
    taken = reply(settings, "同意" + quoted_request(code), references=("<other@x>", request_id))
    assert taken.accepted and status(settings) == CycleStatus.verified
    with db.session_scope(settings) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "signoff.approve.verification")).one()
    assert entry.after["code_from"] == "quoted"


def test_another_address_no_code_and_ambiguous_replies_are_refused_with_a_reply(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    code, request_id, _ = ask(settings)
    # Another address, showing the code: refused, and the code it showed is spent (a new one is sent).
    stranger = reply(settings, f"同意 {code}", to=request_id, sender="mishu@baotou.example")
    assert stranger.fate == "refused" and "不是“专班核实”指定签字人的邮箱" in stranger.reason and stranger.answered
    assert stranger.flow_run_id == RUN and latest(settings).status == "spent"
    code, request_id, _ = ask(settings)
    no_code = reply(settings, "同意", to=request_id)
    assert no_code.fate == "refused" and "没有找到验证码" in no_code.reason
    both = reply(settings, "同意退回", to=request_id)
    assert both.fate == "refused" and "同时有“同意”和“退回”" in both.reason
    bare_reject = reply(settings, "退回修改", to=request_id)
    assert bare_reject.fate == "refused" and "须写明意见" in bare_reject.reason
    assert latest(settings).status == "pending"  # none of them showed the code: it still signs
    nothing = reply(settings, "收到" + quoted_request(code), to=request_id)  # the quoted 同意 is not a decision
    assert nothing.fate == "refused" and "第一行是“收到”" in nothing.reason and latest(settings).status == "spent"
    answers = answers_to(settings, "")
    assert [m.to for m in answers][0] == ["mishu@baotou.example"]
    assert all(m.kind == "signoff_reply_refused" and "未签字" in m.subject and code not in m.text_body for m in answers)
    assert "不是“专班核实”指定签字人的邮箱" in answers[0].text_body and "请勿代为签字" in answers[0].text_body
    assert all("引用的原邮件上方" in m.text_body for m in answers[1:])  # where to write, with each refusal
    # None of them used a try, and each refusal is in the audit log.
    assert latest(settings).wrong_attempts == 0 and status(settings) == CycleStatus.open
    with db.session_scope(settings) as session:
        refused = session.exec(select(AuditEntry).where(AuditEntry.action == "signoff.reply_refused.verification")).all()
        spent = session.exec(select(AuditEntry).where(AuditEntry.action == "signoff.code_spent.verification")).all()
    assert len(refused) == 5 and refused[0].after["reply_from"] == "mishu@baotou.example" and len(spent) == 2
    code, request_id, _ = ask(settings)
    assert reply(settings, f"同意 {code}", to=request_id).accepted


def test_a_wrong_code_is_counted_and_refused_and_a_replayed_reply_is_not_counted_twice(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    code, request_id, _ = ask(settings)
    wrong = "000000" if code != "000000" else "111111"
    first = reply(settings, f"同意 {wrong}", to=request_id, message_id="<wrong-1@mail.baotou.example>")
    assert first.fate == "refused" and "验证码不正确（还可再试 4 次）" in first.reason and first.flow_run_id == ""
    again = reply(settings, f"同意 {wrong}", to=request_id, message_id="<wrong-1@mail.baotou.example>")
    assert again.replayed and again.fate == "refused" and again.reason == first.reason
    assert latest(settings).wrong_attempts == 1 and len(answers_to(settings, "")) == 1
    with db.session_scope(settings) as session:
        entries = session.exec(select(AuditEntry).where(AuditEntry.action == "signoff.wrong_code.verification")).all()
    assert len(entries) == 1 and entries[0].after["reply_message_id"] == "<wrong-1@mail.baotou.example>"
    # The right code, sent twice (the mailbox handed the message in again): one signature.
    yes = reply(settings, f"同意 {code}", to=request_id, message_id="<yes-2@mail.baotou.example>")
    twice = reply(settings, f"同意 {code}", to=request_id, message_id="<yes-2@mail.baotou.example>")
    assert yes.accepted and twice.replayed and twice.accepted and twice.flow_run_id == ""
    with db.session_scope(settings) as session:
        assert len(session.exec(select(AuditEntry).where(AuditEntry.action == "signoff.approve.verification")).all()) == 1


def test_a_replaced_code_costs_no_try_and_an_expired_one_releases_the_run(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    old_code, old_id, _ = ask(settings)
    with db.session_scope(settings) as session:  # the code was sent again (a reminder renewed it, or the run asked again)
        session.get(SignoffRequest, latest(settings).id).created_at -= timedelta(hours=1)
    new_code, new_id, _ = ask(settings)
    if old_code != new_code:
        replaced = reply(settings, "同意" + quoted_request(old_code), to=old_id)
        assert replaced.fate == "refused" and "旧验证码" in replaced.reason and latest(settings).wrong_attempts == 0
    with db.session_scope(settings) as session:
        session.get(SignoffRequest, latest(settings).id).expires_at = datetime(2022, 7, 9, tzinfo=UTC)
    expired = reply(settings, f"同意 {new_code}", to=new_id)
    assert expired.fate == "refused" and "已过期" in expired.reason and expired.flow_run_id == RUN


def test_refusals_are_answered_a_few_times_a_day_and_auto_replies_never(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    _, request_id, _ = ask(settings)
    outcomes = [reply(settings, "自动回复：我正在休假", to=request_id, sender="robot@other.example") for _ in range(7)]
    assert [o.answered for o in outcomes] == [True] * ANSWERS_PER_DAY + [False] * (7 - ANSWERS_PER_DAY)
    assert "本次不再回信" in outcomes[-1].reason
    auto = reply(settings, "我正在休假，7月15日回来。", to=request_id, subject="自动回复: 【请审定】")
    assert auto.fate == "ignored" and not auto.answered
    assert len(answers_to(settings, "")) == ANSWERS_PER_DAY


def test_a_message_that_answers_no_signoff_email_is_not_taken(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    code, _, subject = ask(settings)
    other = "000000" if code != "000000" else "111111"
    assert reply(settings, f"同意 {other}", to="<kaoping.unknown@baotou.example>") is None
    assert reply(settings, f"同意 {other}", subject="自评表已报送", sender=settings.verifier_email) is None
    assert reply(settings, f"同意 {other}", subject="回复：" + subject, sender="liaison@150202.baotou.example") is None
    # A signer's new email naming the cycle and the stage, with the code typed: taken.
    assert reply(settings, f"同意，验证码 {code}", subject="2022H1 专班核实 同意").accepted
    with db.session_scope(settings) as session:
        assert session.exec(select(SignoffReply.matched_by)).all() == ["subject"]



def test_the_verifier_confirms_the_self_scored_items_by_saying_so(initialized_db, settings, tmp_path):
    from tests.factories import accept_default_points

    scored_cycle(settings, tmp_path, verify=False)
    accept_default_points(settings)
    code, request_id, _ = ask(settings)
    plain = reply(settings, f"同意 {code}", to=request_id)
    assert plain.fate == "refused" and "自评项未核实" in plain.reason and latest(settings).wrong_attempts == 0
    # The right code with an answer that could not be taken is spent (issue 24): the run sends a new one.
    assert latest(settings).status == "spent" and plain.flow_run_id == RUN and "已作废" in plain.reason
    with db.session_scope(settings) as session:
        told = session.exec(select(OutboxMessage.text_body).where(OutboxMessage.kind == "signoff_reply_refused")).one()
    assert "同意，并确认自评项" in told
    code, request_id, _ = ask(settings)
    confirmed = reply(settings, f"同意，并确认自评项。{code}", to=request_id)
    assert confirmed.accepted and status(settings) == CycleStatus.verified


def test_a_message_without_message_id_is_still_taken_once(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    code, request_id, _ = ask(settings)
    wrong = "000000" if code != "000000" else "111111"
    message = IncomingMessage(message_id="", sender=settings.verifier_email, subject="回复：签字", text=f"同意 {wrong}",
                              received_at=datetime(2022, 7, 9, 2, 0, tzinfo=UTC), in_reply_to=request_id)
    with db.session_scope(settings) as session:
        first = take_reply(session, settings, message)
    with db.session_scope(settings) as session:
        again = take_reply(session, settings, message)
    assert first.fate == "refused" and again.replayed and latest(settings).wrong_attempts == 1
    # Another message without a Message-ID is another message.
    assert not reply(settings, f"同意 {code}", to=request_id, message_id=" ").replayed


def test_five_wrong_codes_by_reply_lock_the_request_and_release_the_run_for_a_new_code(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    code, request_id, _ = ask(settings)
    wrong = "000000" if code != "000000" else "111111"
    outcomes = [reply(settings, f"同意 {wrong}", to=request_id) for _ in range(5)]
    assert "还可再试 1 次" in outcomes[3].reason and outcomes[3].flow_run_id == ""
    assert "本次签字请求已作废" in outcomes[4].reason and outcomes[4].flow_run_id == RUN  # the run asks anew
    assert latest(settings).status == "locked" and "新的验证码" in answers_to(settings, "")[-1].text_body
    late = reply(settings, f"同意 {code}", to=request_id)  # the right code, too late
    assert late.fate == "refused" and "没有待签的验证码" in late.reason and status(settings) == CycleStatus.open
