"""Issue 24, attack 3, repeated against the service: replies to the sign-off
email carrying the code that refuse in words were each recorded as 同意 and the signer told
"签字记录在案：同意"; a real s-nail reply had its whole quote read as the signer's 意见 and the audit
said the code came from the reply; a reply written below the quote was refused without saying where
to write. Now: none of them signs, the signer is told what was read and exactly what to write (above
the quote), the code such a reply carries is spent, and the s-nail reply is read as written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from kaoping.models import AuditEntry, CycleStatus, OutboxMessage, SignoffRequest
from sqlmodel import select

from kaoping import db
from kaoping.domain.incoming import IncomingMessage
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.signoff.reply import take_reply
from kaoping.services.signoff.signatures import ask_signer
from tests.abuse.test_reply_wording import tab
from tests.factories import emailed_code, scored_cycle

# The two mail clients' replies on both backends (the code spent, the audit); the five refusals in words are a
# matter of reading the words, on SQLite (tests/conftest.py).
BOTH_BACKENDS = {"test_an_s_nail_reply_below_its_tab_quote_is_read_as_written",
                 "test_a_mutt_reply_below_the_quote_signs_and_one_below_a_separator_is_told_to_write_above"}
RUN = "6a1f0c2e-0000-4000-8000-0000000000aa"
REFUSALS_IN_WORDS = ["不能同意，数据有误", "我不太同意这个排名", "无法同意。自评项有问题", "同意？这些自评分不对吧", "先别同意，等我电话"]


@pytest.fixture
def asked(initialized, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    return ask(settings)


def ask(settings) -> tuple[str, OutboxMessage]:
    with db.session_scope(settings) as session:
        ask_signer(session, settings, cycle_code="2022H1", stage="verification", flow_run_id=RUN, link="", actor="flow:test")
    with db.session_scope(settings) as session:
        email = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_request")
                             .order_by(OutboxMessage.id.desc())).first()
        session.expunge(email)
    return emailed_code(settings), email


def answer(settings, text: str, email: OutboxMessage, n: str):
    message = IncomingMessage(message_id=f"<{n}@mail.baotou.example>", sender=settings.verifier_email,
                              subject=f"回复：{email.subject}", text=text, received_at=datetime.now(UTC),
                              in_reply_to=email.message_id)
    with db.session_scope(settings) as session:
        return take_reply(session, settings, message)


def status(settings) -> str:
    with db.session_scope(settings) as session:
        return get_cycle(session, "2022H1").status


def last_answer(settings) -> OutboxMessage:
    with db.session_scope(settings) as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.kind.like("signoff_reply_%"))
                            .order_by(OutboxMessage.id.desc())).first()


def request_status(settings) -> str:
    with db.session_scope(settings) as session:
        return session.exec(select(SignoffRequest).order_by(SignoffRequest.id.desc())).first().status


@pytest.mark.parametrize("words", REFUSALS_IN_WORDS)
def test_a_refusal_in_words_with_the_code_never_signs(asked, settings, words):
    code, email = asked
    outcome = answer(settings, f"{words} 验证码：{code}", email, "words")
    assert outcome.fate == "refused" and not outcome.accepted and status(settings) == CycleStatus.open
    told = last_answer(settings)
    assert told.kind == "signoff_reply_refused" and "签字记录在案" not in told.text_body
    assert words.split("，")[0].split("。")[0][:4] in told.text_body  # what was read, quoted back …
    assert code not in told.text_body and "●●●●●●" in told.text_body  # … without the code
    assert "引用的原邮件上方" in told.text_body and "第一行只写“同意”" in told.text_body  # what to write, and where
    # The code it carried is spent: the waiting run is released to send a fresh one.
    assert request_status(settings) == "spent" and outcome.flow_run_id == RUN
    assert "已作废" in told.text_body


def test_an_s_nail_reply_below_its_tab_quote_is_read_as_written(asked, settings):
    code, email = asked
    quoted = tab(email.text_body.replace("●●●●●●", code))  # s-nail quotes the email as received, code included
    text = f"数字政府专班 <{settings.mail_from}> wrote:\n{quoted}\n退回修改：第3项分数偏高\n"
    outcome = answer(settings, text, email, "s-nail")
    assert outcome.accepted and outcome.decision == "reject"
    with db.session_scope(settings) as session:
        request = session.exec(select(SignoffRequest).order_by(SignoffRequest.id.desc())).first()
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "signoff.reject.verification")).one()
    assert request.comments == "第3项分数偏高"  # not the 409 characters of the quoted request
    assert entry.after["code_from"] == "quoted"  # the code was only quoted, and the audit says so


def test_a_mutt_reply_below_the_quote_signs_and_one_below_a_separator_is_told_to_write_above(asked, settings):
    code, email = asked
    body = email.text_body.replace("●●●●●●", code)
    below_separator = f"-----原始邮件-----\n发件人：{settings.mail_from}\n主题：{email.subject}\n\n{body}\n同意\n"
    refused = answer(settings, below_separator, email, "outlook-below")
    assert refused.fate == "refused" and status(settings) == CycleStatus.open
    assert "写在引用的原邮件下方" in refused.reason and "引用的原邮件上方" in last_answer(settings).text_body
    code, email = ask(settings)  # the quoted code was spent with the refusal: a new one
    body = email.text_body.replace("●●●●●●", code)
    quoted = "\n".join("> " + line for line in body.split("\n"))
    mutt = f"On Sat, Jul 09, 2022 at 10:00:00AM +0800, 数字政府专班 wrote:\n{quoted}\n\n同意\n"
    signed = answer(settings, mutt, email, "mutt")
    assert signed.accepted and signed.decision == "approve" and status(settings) == CycleStatus.verified
