"""Third-party and public-opinion results from outside platforms (kaoping/services/surveys/opinion.py): several
opinion sources combined by the policy's weights; what the third-party evaluator is sent. (Their spreadsheets with
messy real-world input through `kaoping thirdparty|opinion import`: tests/cli/test_outside_results_import.py.)"""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import select

from kaoping import db
from tests import factories
from tests.conftest import write


def test_several_opinion_sources_combine_by_policy_weights_and_flags_show(initialized_db, settings, tmp_path):
    policy = (settings.data_dir / "policies" / "default.yaml").read_text(encoding="utf-8")
    policy = policy.replace("source_weights: {}", "source_weights: {民意调查: 3, 12345回访: 1}")
    custom = write(tmp_path / "policy.yaml", policy)
    factories.open_cycle(settings, policy=custom)
    files = factories.score_files(settings, "2022H1", tmp_path)
    for component, path in files.items():
        factories.import_scores(settings, path, component=component)
    factories.verify_self_scored(settings)
    base = {r["unit_name"]: Decimal(r["opinion"]) for r in factories.result_rows(settings)}
    write(tmp_path / "hf.csv", "单位,样本数,得分\n东河区,10,60\n")
    factories.import_outside_results(settings, tmp_path / "hf.csv", component="opinion", source="12345回访")
    rows = {r["unit_name"]: r for r in factories.result_rows(settings)}
    expected = (base["东河区"] * 3 + 60) / 4
    assert abs(Decimal(rows["东河区"]["opinion"]) - expected) <= Decimal("0.005")
    assert any("样本不足" in f for f in rows["东河区"]["flags"])


def test_thirdparty_request_sends_the_unit_list_and_results_sheet(initialized_db, settings):
    """What `kaoping thirdparty request` sends the evaluator (the command: tests/cli/test_visits.py)."""
    from datetime import date

    from kaoping.models import FormKind, OutboxMessage

    factories.open_cycle(settings)
    factories.send_forms(settings, FormKind.third_party, deadline=date(2022, 7, 10))
    with db.session_scope(settings) as session:
        [message] = session.exec(select(OutboxMessage)).all()
    assert message.to == [settings.third_party_email] and "第三方评估" in message.subject
    assert "36 个单位" in message.text_body
    # Addressed by the agency's name (KAOPING_THIRD_PARTY_NAME), not 各位 (issue 26 item 5); 7月10日 is a Sunday.
    assert message.text_body.startswith(f"{settings.third_party_name}：") and "各位" not in message.text_body
    assert "2022年7月10日（星期日）前" in message.text_body  # the year: this test runs in another year
    assert message.attachments[0]["filename"].endswith("第三方评估结果表.docx")
