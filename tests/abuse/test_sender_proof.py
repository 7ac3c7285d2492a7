"""Issue 24, attacks 4 and 5, repeated through the front door (a real dovecot on loopback):

4. The sender check was passed with an encoded display name —
   ``From: =?utf-8?q?liaison=40150203=2Ebaotou=2Eexample=2C?= <attacker@evil.example>`` was read as
   昆都仑区's liaison (RFC 2047 words decoded before the address was parsed): a form return, an 异议表
   and a signer's reply were taken as the registered person's. A plain forged From with
   ``Authentication-Results: … dmarc=fail`` from the office's own mail server was accepted too.
5. Replies were forged without seeing the email: Message-IDs were ``<kaoping.{sha256(key)[:32]}@…>`` of
   a guessable key, so an outsider computed In-Reply-To and filed objections as 青山区 and a lead
   assessor's "维持原分".

Now the address is the one of the raw header, the office server's verdict is honoured (a fail is
held for the team, nothing answered), Message-IDs carry 128 random bits kept in the database, and a
named Message-ID counts only from an address that email was sent to."""

from __future__ import annotations

import hashlib

import pytest
from kaoping.models import (
    MailboxMessage,
    Objection,
    ObjectionOpinion,
    OutboxMessage,
    ReceivedFile,
    SignoffReply,
    Submission,
)
from kaoping.notifications.mail.parse import parse_message
from kaoping.notifications.mailbox import fetch_mail, release_unproven
from sqlmodel import select

from kaoping import db
from kaoping.services.objections.window import office_today
from kaoping.settings import Settings
from tests.abuse.helpers import filled_self_assessment, mail_to
from tests.factories import (
    filled_objection_form,
    open_cycle,
    open_objection_window,
    record_objection,
    scored_cycle,
    sign_off,
)
from tests.imap_mail import deliver, reply

KUNDULUN = "liaison@150203.baotou.example"  # 昆都仑区
QINGSHAN = "liaison@150204.baotou.example"  # 青山区
ATTACKER = "attacker@evil.example"
DISGUISED = "=?utf-8?q?liaison=40150203=2Ebaotou=2Eexample=2C?= <attacker@evil.example>"
MX = "mx.baotou.example"

#: The mail path runs on SQLite (the sender rules run on both backends in tests/services).
ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def count(settings, model) -> int:
    with db.session_scope(settings) as session:
        return len(session.exec(select(model)).all())


def test_an_encoded_display_name_is_never_the_address():
    raw = reply(DISGUISED, "自评表", text="表格已填好")
    assert parse_message(raw).message.sender == ATTACKER
    for header in ('"liaison@150203.baotou.example" <attacker@evil.example>',  # a quoted name
                   "attacker@evil.example (liaison@150203.baotou.example)",  # a comment
                   "liaison@150203.baotou.example)<attacker@evil.example>",  # CVE-2023-27043's confusion
                   "liaison@150203.baotou.example, attacker@evil.example"):  # two senders
        assert parse_message(reply(header, "自评表")).message.sender in (ATTACKER, ""), header


@ON_SQLITE
def test_a_form_returned_under_a_disguised_name_is_held_not_taken_as_the_liaisons(imap_settings, imap_server, tmp_path):
    settings = imap_settings
    open_cycle(settings)
    form = filled_self_assessment(settings, tmp_path, "150203").read_bytes()
    deliver(imap_server, settings, reply(DISGUISED, "昆都仑区自评表", [("自评表.docx", form)]))
    [message] = fetch_mail(settings).messages
    assert message.sender == ATTACKER and message.outcome == "held"
    assert count(settings, Submission) == 0 and mail_to(settings, KUNDULUN) == [] and mail_to(settings, ATTACKER) == []


@ON_SQLITE
def test_a_disguised_objection_form_and_signers_reply_are_not_the_registered_persons(imap_settings, imap_server, tmp_path):
    settings = imap_settings
    scored_cycle(settings, tmp_path)
    sign_off(settings)
    open_objection_window(settings, today=office_today())
    objection_form = filled_objection_form(settings, [("57", "数据共享已全部完成，应得满分。", "")])
    deliver(imap_server, settings, reply(DISGUISED.replace("150203", "150204"), "青山区异议表", [("异议表.docx", objection_form)]))
    signer = settings.verifier_email
    deliver(imap_server, settings, reply(f"=?utf-8?q?{signer.replace('@', '=40').replace('.', '=2E')}=2C?= <{ATTACKER}>",
                                         "2022H1 专班核实 同意", text="同意 123456"))
    messages = fetch_mail(settings).messages
    assert [m.sender for m in messages] == [ATTACKER, ATTACKER]
    assert count(settings, Objection) == 0  # the 异议表 is held, not 青山区's objection
    with db.session_scope(settings) as session:
        held = session.exec(select(ReceivedFile).where(ReceivedFile.status == "held")).all()
        assert held and all(r.sender == ATTACKER for r in held)
        assert session.exec(select(SignoffReply)).all() == []  # no sign-off in the signer's name was even considered


@pytest.fixture
def authenticated(imap_settings) -> Settings:
    """The office's receiving server stamps Authentication-Results as ``mx.baotou.example``."""
    settings = Settings(**{**imap_settings.model_dump(), "mail_authserv_id": MX}, _env_file=None)
    open_cycle(settings)
    return settings


def results(verdict: str, domain: str = "150203.baotou.example", mailfrom: str = "evil.example") -> str:
    return (f"{MX}; spf=pass smtp.mailfrom={mailfrom}; dkim=none (no signature); "
            f"dmarc={verdict} (p=none dis=none) header.from={domain}")


@ON_SQLITE
def test_a_forged_from_the_office_server_failed_is_held_for_the_team_and_released_by_it(authenticated, imap_server,
                                                                                        tmp_path, cli):
    settings = authenticated
    form = filled_self_assessment(settings, tmp_path, "150203").read_bytes()
    forged = reply(KUNDULUN, "昆都仑区自评表", [("自评表.docx", form)], headers={"Authentication-Results": results("fail")})
    deliver(imap_server, settings, forged)
    [message] = fetch_mail(settings).messages
    assert message.outcome == "held" and "DMARC" in message.summary and message.folder == settings.imap_refused_folder
    assert count(settings, Submission) == 0 and mail_to(settings, KUNDULUN) == []  # nothing taken, nobody answered
    # The team checked with 昆都仑区 by phone: it was theirs after all (their server is misconfigured).
    with db.session_scope(settings) as session:
        record_id = session.exec(select(MailboxMessage.id)).one()
    released = release_unproven(settings, record_id, actor="test:专班")
    assert released.outcome == "accepted" and count(settings, Submission) == 1


@ON_SQLITE
def test_only_the_office_servers_own_verdict_counts(authenticated, imap_server, tmp_path):
    settings = authenticated
    form = filled_self_assessment(settings, tmp_path, "150203").read_bytes()
    # The attacker writes a passing verdict under the office server's name; the server's own (added on top) fails.
    forged = reply(KUNDULUN, "自评表", [("自评表.docx", form)],
                   headers={"Authentication-Results": results("fail")})
    forged = forged.replace(b"Authentication-Results:", b"Authentication-Results: " + results("fail").encode()
                            + b"\r\nX-Was:", 1)
    forged = forged.replace(b"X-Was: " + results("fail").encode(), b"Authentication-Results: " + results("pass").encode())
    no_verdict = reply(KUNDULUN, "自评表", [("自评表.docx", form)])  # the server stamped nothing: unproven
    genuine = reply(KUNDULUN, "自评表", [("自评表.docx", form)],
                    headers={"Authentication-Results": results("pass", mailfrom="150203.baotou.example")})
    for raw in (forged, no_verdict, genuine):
        deliver(imap_server, settings, raw)
    outcomes = [m.outcome for m in fetch_mail(settings).messages]
    assert outcomes == ["held", "held", "accepted"] and count(settings, Submission) == 1


def _old_message_id(key: str) -> str:
    """How Message-IDs were made before issue 24: computable by anyone who can guess the key."""
    return f"<kaoping.{hashlib.sha256(key.encode()).hexdigest()[:32]}@baotou.example>"


@ON_SQLITE
def test_replies_forged_without_seeing_the_email_are_not_taken(imap_settings, imap_server, tmp_path):
    settings = imap_settings
    scored_cycle(settings, tmp_path)
    sign_off(settings)
    open_objection_window(settings, today=office_today())
    [objection_id] = record_objection(settings, unit="东河区", numbers=[57], text="数据共享已全部完成。")
    with db.session_scope(settings) as session:
        letter = session.exec(select(OutboxMessage).where(
            OutboxMessage.idempotency_key == "objection-letter:2022H1:150204")).one()
        routed = session.exec(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.like(f"objection-routed:{objection_id}:%"))).first()
        letter_id, routed_id, lead = letter.message_id, routed.message_id, routed.to[0]
        lead_key = routed.idempotency_key
    # Nobody can compute a Message-ID any more: 128 random bits, kept only in the database.
    assert letter_id != _old_message_id("objection-letter:2022H1:150204") and len(letter_id.split(".")[1].split("@")[0]) == 32
    before = count(settings, Objection)
    for n in range(3):  # three objections "from 青山区" naming the computed id of its letter
        guessed = _old_message_id("objection-letter:2022H1:150204")
        deliver(imap_server, settings, reply(QINGSHAN, f"回复：征求意见稿 {n}", text=f"指标序号：{40 + n}\n异议内容：偏低",
                                             headers={"In-Reply-To": guessed, "References": guessed}))
    guessed = _old_message_id(lead_key)
    deliver(imap_server, settings, reply(lead, "回复：异议转办", text="维持原分",
                                         headers={"In-Reply-To": guessed, "References": guessed}))
    # The real Message-ID of 青山区's letter, named by another unit's registered address: not 青山区's objection.
    deliver(imap_server, settings, reply(KUNDULUN, "回复：征求意见稿", text="指标序号：43\n异议内容：偏低",
                                         headers={"In-Reply-To": letter_id, "References": letter_id}))
    # … and the real routing email's id, from an address it was not sent to: no opinion.
    deliver(imap_server, settings, reply("liaison@150205.baotou.example", "回复：异议转办", text="维持原分",
                                         headers={"In-Reply-To": routed_id, "References": routed_id}))
    fetch_mail(settings)
    assert count(settings, Objection) == before and count(settings, ObjectionOpinion) == 0
    with db.session_scope(settings) as session:
        held = session.exec(select(ReceivedFile).where(ReceivedFile.sender == KUNDULUN, ReceivedFile.status == "held")).all()
    assert held  # the reply naming 青山区's letter from 昆都仑区's address is held for the team
