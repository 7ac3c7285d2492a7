"""Golden samples of what people read (STYLE 17): every kind of email (text and HTML) and the
text of every kind of document, rendered for one fixed cycle at a fixed instant, compared with
the reviewed samples in this folder.

The instant, 2022-07-08T17:30Z, is already 2022-07-09 01:30 in Beijing: every date a person
reads must be the Beijing one. After a deliberate change to a template or a document, run
``make golden`` (``KAOPING_REGENERATE_GOLDEN=1 pytest tests/golden``) and review
``git diff tests/golden`` before committing it.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime
from pathlib import Path

import docx
import pytest
from kaoping.models import FormKind, IssuedForm, OutboxMessage
from kaoping.models.types import fixed_clock
from kaoping.notifications.mailbox import queue_no_form_reply
from sqlmodel import select

from kaoping import db
from kaoping.demo.people import People
from kaoping.domain.incoming import IncomingMessage
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.reference.workdays import WorkCalendar
from kaoping.services.signoff.signatures import SignoffAnswer, record_answer, remind_signers
from kaoping.services.stages.status import cycle_status
from kaoping.services.stages.steps import publish
from tests.conftest import write
from tests.factories import scored_cycle

GOLDEN = Path(__file__).parent
REGENERATE = os.environ.get("KAOPING_REGENERATE_GOLDEN") == "1"
INSTANT = datetime(2022, 7, 8, 17, 30, tzinfo=UTC)  # 2022-07-09 01:30 Asia/Shanghai
LOCAL_DAY, UTC_DAY = date(2022, 7, 9), date(2022, 7, 8)
EMAIL_KINDS = {p.name.split(".")[0] for p in (GOLDEN.parent.parent / "templates" / "email").glob("*.txt.j2")}
TABLE_ROWS = 6  # long tables: the header and the first rows are enough to see the layout of the text


def _day_forms(day: date) -> list[str]:
    return [f"{day:%Y-%m-%d}", f"{day.year}年{day.month}月{day.day}日", f"{day:%Y年%m月%d日}"]


def _document_text(path: Path) -> str:
    """The text a reader sees: header, paragraphs and tables in order (table cells joined by " | ")."""
    document = docx.Document(path)
    lines = []
    for section in document.sections[:1]:
        lines += [p.text for p in section.header.paragraphs if p.text.strip()]
    body = document.element.body
    tables = iter(document.tables)
    paragraphs = iter(document.paragraphs)
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = next(paragraphs).text
            if text.strip():
                lines.append(text)
        elif tag == "tbl":
            rows = next(tables).rows
            for row in rows[:TABLE_ROWS]:
                lines.append(" | ".join(c.text.replace("\n", "⏎") for c in row.cells))
            if len(rows) > TABLE_ROWS:
                lines.append(f"…（共 {len(rows) - 1} 行）")
    return "\n".join(lines) + "\n"


def _email_text(message: OutboxMessage) -> str:
    text = re.sub(r"验证码：\d{6}", "验证码：●●●●●●", message.text_body)
    html = re.sub(r">\d{6}<", ">●●●●●●<", message.html_body)
    # An audit anchor's seal depends on every entry before it (times, random Message-IDs): shown as its shape.
    text, html = (re.sub(r"\b\d+:[0-9a-f]{64}\b", "<序号>:<64 位签名>", body) for body in (text, html))
    return (f"收件人：{', '.join(message.to)}\n" + (f"抄送：{', '.join(message.cc)}\n" if message.cc else "")
            + f"主题：{message.subject}\n附件：{', '.join(a['filename'] for a in message.attachments) or '无'}\n"
            + f"--- 正文 ---\n{text.rstrip()}\n--- HTML ---\n{html.rstrip()}\n")


def _check_email(name: str, message: OutboxMessage) -> list[str]:
    """The subject is one line of its own; the body opens with the greeting; dates are Beijing's."""
    problems = []
    subject, text = message.subject, message.text_body
    if "\n" in subject or "您好" in subject or subject.endswith(("：", ":")) or not subject.strip():
        problems.append(f"{name}: subject {subject!r} is not one line without greeting")
    first = text.split("\n", 1)[0]
    if not first.endswith("：") or len(first) > 30 or first.rstrip("：") in subject:
        problems.append(f"{name}: body does not start with its greeting: {first!r}")
    greeting = first.rstrip("：")
    if f"<p>{greeting}：</p>" not in message.html_body.replace("&#34;", '"'):
        problems.append(f"{name}: the HTML does not open with {greeting}：")
    for part in (subject, text, message.html_body):
        for utc in _day_forms(UTC_DAY):
            if utc in part:
                problems.append(f"{name}: the UTC date {utc} appears")
    if not any(local in text for local in _day_forms(LOCAL_DAY)):
        problems.append(f"{name}: the Beijing date {LOCAL_DAY} does not appear")
    return problems


def _compare(samples: dict[str, str]) -> list[str]:
    differing = []
    for name, text in samples.items():
        path = GOLDEN / name
        if REGENERATE:
            path.write_text(text, encoding="utf-8")
        elif not path.exists() or path.read_text(encoding="utf-8") != text:
            differing.append(name)
    if REGENERATE:
        for stale in set(p.name for p in GOLDEN.glob("*.txt")) - set(samples):
            (GOLDEN / stale).unlink()
    return differing


@pytest.fixture
def golden_cycle(initialized, settings, tmp_path):
    """2022H1 run from opening to publishing with the seeded scores and people, at INSTANT (SQLite only:
    the samples do not depend on the database; see layout_only in tests/conftest.py)."""
    return play_cycle(initialized, settings, tmp_path)


def play_cycle(cli, settings, tmp_path, *, mail=lambda address: address, teams: Path | None = None,
               link: str = "http://127.0.0.1:4200/runs/flow-run/00000000-0000-0000-0000-000000000000"):
    """Every kind of form, email and document of a cycle, at INSTANT: ``mail`` maps the addresses the people
    write from (a production cycle's are real), ``teams`` the visit teams file, ``link`` the run's UI page."""
    with fixed_clock(INSTANT):
        scored_cycle(settings, tmp_path)
        def send(kind, unit):
            result = cli("forms", "send", "--cycle", "2022H1", "--kind", kind, "--deadline", "2022-07-15",
                         *(["--unit", unit] if unit else []))
            assert result.exit_code == 0, result.output

        for kind, unit in (("self_assessment", "东河区"), ("lead_scoring", "市卫健委"), ("third_party", None), ("opinion", None)):
            send(kind, unit)
        for day in ("2022-07-12", "2022-07-18"):  # 3 working days before the deadline; 1 after it
            assert cli("reminders", "run", "--today", day).exit_code == 0
        with db.session_scope(settings) as session:
            form = session.exec(select(IssuedForm).where(IssuedForm.kind == FormKind.self_assessment)).one()
            filled = People(2022).fill(FormKind.self_assessment, Path(form.path).read_bytes())
        returned = write(tmp_path / "returns" / f"{form.form_no}-东河区.docx", filled)
        refused = write(tmp_path / "returns" / "自评表.doc", b"\xd0\xcf\x11\xe0 not a docx")
        for path in (returned, refused):
            cli("intake", path, "--sender", mail("liaison@150202.baotou.example"), "--cycle", "2022H1")
        send("field_visit", "东河区")  # after the unit's return: the form lists what it reported (issue 27)
        with db.session_scope(settings) as session:  # a message to the office mailbox without a form
            queue_no_form_reply(session, settings, IncomingMessage(
                "<q@150202.example>", mail("liaison@150202.baotou.example"), "请问自评表的截止时间", "请问截止时间？",
                INSTANT), ["工作方案.pdf"])
        result = cli("visits", "confirm", "--cycle", "2022H1", "--from", "2022-07-11", "--to", "2022-07-22",
                     "--teams", teams or settings.data_dir / "demo" / "teams.yaml")
        assert result.exit_code == 0, result.output
        assert cli("signoff", "request", "--cycle", "2022H1", "--stage", "verification").exit_code == 0
        with db.session_scope(settings) as session:
            remind_signers(session, settings, today=date(2022, 7, 12), calendar=WorkCalendar.load(session))
            status = cycle_status(session, get_cycle(session, "2022H1"), today=LOCAL_DAY, tz=settings.tz).lines()
        for stage in ("verification", "approval"):
            if stage == "approval":
                _objection_stage(settings, mail)
                assert cli("signoff", "request", "--cycle", "2022H1", "--stage", stage).exit_code == 0
            from tests.factories import emailed_code  # the outbox keeps the code sealed: read it as sent

            code = emailed_code(settings)
            if stage == "verification":  # signed by email reply, after a stranger's reply is refused
                with db.session_scope(settings) as session:  # and a mistyped code in the Prefect UI: the signer is told
                    refused = record_answer(session, settings, cycle_code="2022H1", stage=stage, actor="Prefect 运行 golden",
                                            answer=SignoffAnswer(code="000000" if code != "000000" else "111111", approve=True),
                                            link=link)
                    assert not refused.ok
                _sign_by_reply(settings, code, mail)
                continue
            assert cli("signoff", "give", "--cycle", "2022H1", "--stage", stage, "--code", code, "--approve").exit_code == 0
        with db.session_scope(settings) as session:
            published = publish(session, settings, get_cycle(session, "2022H1"), signed=date(2022, 7, 15))
            closed = cycle_status(session, get_cycle(session, "2022H1"), today=LOCAL_DAY, tz=settings.tz).lines()
            messages = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
            forms = {FormKind(f.kind): Path(f.path) for f in session.exec(select(IssuedForm).order_by(IssuedForm.id))}
    return Path(published.out_dir), messages, forms, status, closed


def _objection_stage(settings, mail=lambda address: address) -> None:
    """Issue 17: the provisional 反馈函 out on Monday 07-04 (window to Thursday 07-07); 东河区 objects by
    reply on 07-05 (upheld) and 青山区 with no indicator (rejected); a reply on 07-09 is refused."""
    from kaoping.domain.incoming import IncomingMessage
    from kaoping.services.objections import opinions as objection_opinions
    from kaoping.services.objections import record as objections
    from tests.factories import decide_objection, open_objection_window

    open_objection_window(settings, today=date(2022, 7, 4))

    def reply(unit_code: str, sender: str, text: str, at: datetime, n: int):
        with db.session_scope(settings) as session:
            letter = session.exec(select(OutboxMessage).where(
                OutboxMessage.idempotency_key == f"objection-letter:2022H1:{unit_code}")).one()
            message = IncomingMessage(message_id=f"<golden-{n}@example>", sender=sender, subject="回复：初步结果反馈函",
                                      text=text, received_at=at, in_reply_to=letter.message_id)
            return objections.take_reply(session, settings, message)

    at = datetime(2022, 7, 5, 2, tzinfo=UTC)
    upheld = reply("150202", mail("liaison@150202.baotou.example"),
                   "指标序号：19\n异议内容：政务服务事项已全部上线，应得满分。\n依据：见市政务服务平台上线通知。", at, 1)
    vague = reply("150204", mail("liaison@150204.baotou.example"), "我区对初步得分有疑问，请核实。", at, 2)
    with db.session_scope(settings) as session:  # the lead assessor answers the routing email
        routed = session.exec(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.like(f"objection-routed:{upheld.objection_ids[0]}:%"))).first()
        answer = IncomingMessage(message_id="<golden-lead@example>", sender=routed.to[0], subject=f"回复：{routed.subject}",
                                 text="同意更正为 0.5 分\n经核实，上线通知属实。", received_at=at, in_reply_to=routed.message_id)
        assert objection_opinions.take_reply(session, settings, answer).recorded
    decide_objection(settings, upheld.objection_ids[0], uphold=True, score="0.5", reason="经牵头考核单位核实，上线通知属实")
    decide_objection(settings, vague.objection_ids[0], uphold=False, reason="未指明具体指标，经逐项核对评分无误")
    assert not reply("150202", mail("liaison@150202.baotou.example"), "指标序号：20\n异议内容：偏低", INSTANT, 3).accepted


def _sign_by_reply(settings, code: str, mail=lambda address: address) -> None:
    from kaoping.domain.incoming import IncomingMessage
    from kaoping.services.signoff.reply import take_reply

    with db.session_scope(settings) as session:
        request = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_request")
                               .order_by(OutboxMessage.id.desc())).first()
        for n, sender in enumerate((mail("mishu@baotou.example"), settings.verifier_email)):
            outcome = take_reply(session, settings, IncomingMessage(
                message_id=f"<golden-{n}@mail.baotou.example>", sender=sender, subject=f"回复：{request.subject}",
                # (the stranger's shows no code: a code shown in a reply that does not sign is spent)
                text="同意" if n == 0 else f"同意\n验证码：{code}", received_at=INSTANT, in_reply_to=request.message_id))
            assert outcome.fate == ("refused" if n == 0 else "accepted"), outcome


@pytest.mark.layout_only
def test_golden_samples(golden_cycle):
    out, messages, forms, status, closed = golden_cycle
    chosen: dict[str, OutboxMessage] = {}
    for message in messages:
        label = message.kind
        if message.kind == "form_issued":  # one per kind of form (the third party's is its own template)
            label += "-" + next((k.value for k in FormKind if k.label in message.subject), "third_party")
        elif message.kind == "report_distribution":
            label += "-leadership" if "情况报告" in message.subject else "-unit"
        chosen.setdefault(label, message)
    samples = {f"email-{label}.txt": _email_text(m) for label, m in chosen.items()}
    problems = [p for label, m in chosen.items() for p in _check_email(label, m)]

    rendered = {"form_issued": "form_issued", "third_party_request": "form_issued-third_party"}
    missing = [k for k in EMAIL_KINDS if not any(label.startswith(rendered.get(k, k)) for label in chosen)
               and not (k == "form_issued" and any(label.startswith("form_issued-self") for label in chosen))]
    assert not missing, f"email kinds the golden cycle does not render: {missing}"

    samples["status-open.txt"] = "\n".join(status) + "\n"
    samples["status-closed.txt"] = "\n".join(closed) + "\n"
    for lines in (status, closed):
        text = "\n".join(lines)
        if any(u in text for u in _day_forms(UTC_DAY)) or f"{LOCAL_DAY:%Y-%m-%d} 由" not in text:
            problems.append(f"status shows a UTC date or not the Beijing opening date:\n{text}")

    documents = {
        "doc-tongbao.txt": out / "2022年上半年数字政府建设考评结果通报.docx",
        "doc-baogao.txt": out / "2022年上半年数字政府建设考评情况报告.docx",
        "doc-fankui-district.txt": out / "反馈函" / "150202-东河区-反馈函.docx",
        "doc-fankui-department.txt": next((out / "反馈函").glob("*-市卫健委-反馈函.docx")),
        "doc-fankui-draft-district.txt": out.parent.parent / "objections" / "2022H1" / "150202-东河区-反馈函（征求意见稿）.docx",
        "form-objection.txt": out.parent.parent / "objections" / "2022H1" / "150202-东河区-异议表.docx",
    }
    documents.update({f"form-{kind.value}.txt": path for kind, path in forms.items()})
    samples.update({name: _document_text(path) for name, path in documents.items()})
    assert "一、政务服务“一网通办” | 25.00 | 0.50 |" in samples["doc-fankui-department.txt"]

    differing = _compare(samples)
    assert not problems, "\n".join(problems)
    assert not differing, (f"rendered text differs from the reviewed samples: {differing}. If the change is intended, "
                           "run `make golden` and review `git diff tests/golden`.")
