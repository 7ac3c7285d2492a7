"""Issue 25 item 1: production publishes no placeholder. With the shipped defaults a 通报 went out
with 签发人 ×××, 联系人 ×××, 0472-0000000, and the 报告 to 市委、市政府、市纪委监委 at baotou.example —
even with KAOPING_ENVIRONMENT=production. Now publishing refuses, naming each setting, before a
number is taken or a file written; and nothing is mailed to an address on a reserved example domain."""

from __future__ import annotations

from datetime import date

import pytest
from kaoping.models import CycleStatus, DocNumber, OutboxMessage
from pydantic import SecretStr
from sqlmodel import func, select

from kaoping import db
from kaoping.domain.errors import Conflict
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.stages import steps
from kaoping.settings import Environment, Settings, placeholders
from tests import factories

# Refusing before a number is taken: on both backends; the texts of drafts and emails do not depend on the
# database (SQLite only: tests/conftest.py).
BOTH_BACKENDS = {"test_production_refuses_to_publish_what_would_carry_a_placeholder"}
REAL = {"report_signer": "王某强", "contact_name": "李明", "contact_phone": "0472-5123456", "office_email": "zb@baotou.gov.cn",
        "leadership_emails": ["shiwei@baotou.gov.cn", "shizhengfu@baotou.gov.cn", "jiwei@baotou.gov.cn"]}


def production(settings: Settings, **values) -> Settings:
    return settings.model_copy(update={"environment": Environment.production, "secret_key": SecretStr("s" * 48), **values})


def approved(settings: Settings, tmp_path) -> None:
    """A cycle whose results the 分管领导 approved (the sign-offs themselves are tested elsewhere)."""
    factories.scored_cycle(settings, tmp_path)
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        cycle.status = CycleStatus.approved
        session.add(cycle)


def numbers_taken(settings: Settings) -> int:
    with db.session_scope(settings) as session:
        return session.exec(select(func.count()).select_from(DocNumber)).one()


def test_the_shipped_defaults_are_all_listed():
    found = {p.variable: p for p in placeholders(Settings(_env_file=None))}
    for variable in ("KAOPING_SECRET_KEY", "KAOPING_REPORT_SIGNER", "KAOPING_CONTACT_NAME", "KAOPING_CONTACT_PHONE",
                     "KAOPING_VERIFIER_EMAIL", "KAOPING_APPROVER_EMAIL", "KAOPING_LEADERSHIP_EMAILS", "KAOPING_OFFICE_EMAIL",
                     "KAOPING_MAIL_FROM", "KAOPING_THIRD_PARTY_EMAIL", "KAOPING_OPINION_EMAIL"):
        assert variable in found, variable
    assert "×××" in found["KAOPING_REPORT_SIGNER"].value and "0472-0000000" in found["KAOPING_CONTACT_PHONE"].value
    filled = Settings(_env_file=None, secret_key="k" * 48, **REAL, verifier_email="fzr@baotou.gov.cn",
                      approver_email="fg@baotou.gov.cn", mail_from="kp@baotou.gov.cn",
                      third_party_email="pg@pinggu.cn", opinion_email="my@diaocha.cn")
    assert placeholders(filled) == []


def test_production_refuses_to_publish_what_would_carry_a_placeholder(initialized_db, tmp_path):
    approved(initialized_db, tmp_path)
    settings = production(initialized_db)
    with pytest.raises(Conflict) as refused, db.session_scope(settings) as session:
        steps.publish(session, settings, get_cycle(session, "2022H1"), signed=date(2022, 7, 20))
    for variable in ("KAOPING_REPORT_SIGNER", "KAOPING_CONTACT_NAME", "KAOPING_CONTACT_PHONE", "KAOPING_LEADERSHIP_EMAILS"):
        assert variable in str(refused.value)
    assert "×××" in str(refused.value) and "kaoping doctor" in str(refused.value)
    assert numbers_taken(settings) == 0 and not (settings.var_dir / "reports").exists()
    with db.session_scope(settings) as session:
        assert get_cycle(session, "2022H1").status == CycleStatus.approved


def test_production_sends_nothing_to_an_example_address(initialized_db, tmp_path):
    """The settings filled in, the unit registry not: the distribution would go to baotou.example."""
    approved(initialized_db, tmp_path)
    settings = production(initialized_db, **REAL)
    with pytest.raises(Conflict) as refused, db.session_scope(settings) as session:
        steps.publish(session, settings, get_cycle(session, "2022H1"), signed=date(2022, 7, 20))
    assert "baotou.example" in str(refused.value) and "示例地址" in str(refused.value)
    assert numbers_taken(settings) == 0  # the whole publication rolled back
    with db.session_scope(settings) as session:
        assert session.exec(select(func.count()).select_from(OutboxMessage)).one() == 0


def test_the_cli_names_the_settings_in_production(initialized, settings, tmp_path):
    approved(settings, tmp_path)
    initialized.env.update({"KAOPING_ENVIRONMENT": "production", "KAOPING_SECRET_KEY": "s" * 48})
    result = initialized("report", "--cycle", "2022H1", "--out", str(tmp_path / "out"), "--publish")
    assert result.exit_code == 4 and "Traceback" not in result.output
    assert "KAOPING_REPORT_SIGNER" in result.output and "KAOPING_CONTACT_PHONE" in result.output
    assert numbers_taken(settings) == 0 and not (tmp_path / "out").exists()


def test_development_keeps_the_demo_going(initialized_db, tmp_path):
    """The demo's own settings are placeholders on purpose: development publishes them (marked as the demo's)."""
    approved(initialized_db, tmp_path)
    with db.session_scope(initialized_db) as session:
        published = steps.publish(session, initialized_db, get_cycle(session, "2022H1"), signed=date(2022, 7, 20))
    assert published.number and numbers_taken(initialized_db) > 0


def test_drafts_show_the_values_or_a_plain_blank_and_production_refuses_the_blank(initialized_db, tmp_path):
    """Issue 26: the drafts (征求意见稿 通报, 报告, 反馈函 — what a signer reviews) print the configured values;
    a value not filled in is a plain 【待填：联系人】 in development, never ××× or 0472-0000000; production
    refuses to make the draft and names the setting to fill."""
    import docx

    from kaoping.services.reports.placeholders import filled

    factories.scored_cycle(initialized_db, tmp_path)
    preview = factories.write_reports(initialized_db, tmp_path / "dev", cycle="2022H1", signed=date(2022, 7, 11))
    letter = "\n".join(p.text for p in docx.Document(preview.letters[0]).paragraphs)
    report = "\n".join(p.text for p in docx.Document(preview.baogao).paragraphs)
    assert "联系人：市政府办公室数字政府专班【待填：联系人】，联系电话：【待填：联系电话】" in letter
    assert "签发人：【待填：签发人】" in report and "×××" not in letter + report and "0000000" not in letter + report
    assert filled(initialized_db, "contact_phone") == "【待填：联系电话】"

    missing_name = production(initialized_db, **{**REAL, "contact_name": "×××"})
    with pytest.raises(Conflict) as refused, db.session_scope(missing_name) as session:
        from kaoping.services.reports.documents import build_reports

        build_reports(session, missing_name, get_cycle(session, "2022H1"), tmp_path / "prod", actor="test", review_only=True)
    assert "生成通报、报告和反馈函（征求意见稿）" in str(refused.value) and "KAOPING_CONTACT_NAME（公文附注的联系人）" in str(refused.value)
    assert not (tmp_path / "prod").exists()
    with pytest.raises(Conflict, match="KAOPING_CONTACT_PHONE"):
        filled(production(initialized_db, **{**REAL, "contact_phone": "0472-0000000"}), "contact_phone", "回复签字邮件")

    configured = production(initialized_db, **REAL)
    with db.session_scope(configured) as session:
        from kaoping.services.reports.documents import build_reports

        made = build_reports(session, configured, get_cycle(session, "2022H1"), tmp_path / "ok", actor="test")
    letter = "\n".join(p.text for p in docx.Document(made.letters[0]).paragraphs)
    assert "李明，联系电话：0472-5123456" in letter and "电子版发送至专班邮箱zb@baotou.gov.cn" in letter
