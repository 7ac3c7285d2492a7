"""Issue 14, item 4: the sign-off proof. The code is never kept readable once handed to SMTP
(only its HMAC), the five-try lock holds under 10 parallel wrong codes (threads, both databases),
requests are rate-limited per stage without new tries, full-width digits and spaces are read."""

from __future__ import annotations

import threading

import pytest
from kaoping.models import AuditEntry, OutboxMessage, SignoffRequest
from kaoping.notifications import delivery
from sqlmodel import select

from kaoping import db
from kaoping.domain.errors import Conflict
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.signoff.signatures import MAX_WRONG, give_signoff
from kaoping.settings import Settings
from tests.factories import give_signoff as give_with_code
from tests.factories import request_signoff, scored_cycle
from tests.smtp_server import SmtpServer


#: What is at rest, parallel tries and the rate limit are the database's business: on PostgreSQL too; reading full-
#: width digits is not (SQLite only: tests/conftest.py).
BOTH_BACKENDS = {"test_code_is_not_readable_at_rest_once_handed_to_smtp",
                 "test_ten_parallel_wrong_codes_are_five_tries",
                 "test_requests_are_rate_limited_and_keep_the_wrong_tries"}


def emailed_code(settings) -> str:
    from tests.factories import emailed_code as read_code

    return read_code(settings)


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def request_of(settings) -> SignoffRequest:
    with db.session_scope(settings) as session:
        return session.exec(select(SignoffRequest).order_by(SignoffRequest.id.desc())).first()


@pytest.fixture
def ready_for_signoff(initialized_db, tmp_path) -> Settings:
    scored_cycle(initialized_db, tmp_path)
    return initialized_db


def test_code_is_not_readable_at_rest_once_handed_to_smtp(ready_for_signoff):
    s = ready_for_signoff
    request_signoff(s, "verification")
    code = emailed_code(s)
    assert request_of(s).code_hmac != code and code not in request_of(s).code_hmac  # only an HMAC
    server = SmtpServer().start()
    try:
        sending = Settings(**{**s.model_dump(), "smtp_host": "127.0.0.1", "smtp_port": server.port}, _env_file=None)
        assert delivery.send_pending(sending).sent
        assert code in server.received[0].message.get_body(("plain",)).get_content()  # the signer got it
    finally:
        server.stop()
    with db.session_scope(s) as session:
        message = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_request")).one()
        assert code not in message.text_body and code not in message.html_body
        assert "●●●●●●" in message.text_body
    assert give_with_code(s, "verification", code=code).ok  # the code still works: its HMAC is kept


def test_ten_parallel_wrong_codes_are_five_tries(ready_for_signoff):
    s = ready_for_signoff
    request_signoff(s, "verification")
    bad = wrong(emailed_code(s))
    barrier = threading.Barrier(10)
    outcomes, errors = [], []

    def attempt():
        try:
            barrier.wait()
            with db.session_scope(s) as session:
                outcome = give_signoff(session, s, get_cycle(session, "2022H1"), "verification", code=bad,
                                       approve=True, actor="test:attacker")
            outcomes.append(outcome.message)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and len(outcomes) == 10
    checked = [m for m in outcomes if "验证码不正确" in m or "连续 5 次不正确，本次" in m and "或已被使用" not in m]
    assert len(checked) == MAX_WRONG, outcomes
    request = request_of(s)
    assert request.wrong_attempts == MAX_WRONG and request.status == "locked"
    with db.session_scope(s) as session:
        logged = session.exec(select(AuditEntry).where(AuditEntry.action == "signoff.wrong_code.verification")).all()
    assert len(logged) == MAX_WRONG


def test_requests_are_rate_limited_and_keep_the_wrong_tries(ready_for_signoff):
    s = ready_for_signoff
    request_signoff(s, "verification")
    bad = wrong(emailed_code(s))
    give_with_code(s, "verification", code=bad)
    give_with_code(s, "verification", code=bad)
    request_signoff(s, "verification")  # a new code, not new tries
    outcome = give_with_code(s, "verification", code=wrong(emailed_code(s)))
    assert "还可再试 2 次" in outcome.message
    request_signoff(s, "verification")
    with pytest.raises(Conflict, match="24 小时内已提请 3 次"):
        request_signoff(s, "verification")


def test_full_width_digits_and_spaces_are_read_and_slips_use_no_try(ready_for_signoff):
    s = ready_for_signoff
    request_signoff(s, "verification")
    code = emailed_code(s)
    slip = give_with_code(s, "verification", code="12345")
    assert not slip.ok and "不计入错误次数" in slip.message and request_of(s).wrong_attempts == 0
    full_width = " ".join(chr(ord(c) + 0xFEE0) for c in code[:3]) + "\u3000" + "".join(chr(ord(c) + 0xFEE0) for c in code[3:])
    outcome = give_with_code(s, "verification", code=full_width)
    assert outcome.ok, outcome.message
    assert request_of(s).status == "used" and request_of(s).wrong_attempts == 0
