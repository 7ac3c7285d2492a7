"""承担建议: proposals from the indicators' texts, for the team to review and import."""

from __future__ import annotations

import csv
import io

from kaoping import db
from kaoping.domain.responsibilities import ItemText, UnitNames, suggest
from kaoping.services.reference.responsibilities import (
    suggest_responsibilities,
    suggestions_csv,
)

UNITS = [
    UnitNames(1, "东河区", "district", ("东河区",)),
    UnitNames(2, "达茂旗", "district", ("达尔罕茂明安联合旗", "达茂旗")),
    UnitNames(3, "市工信局", "department", ("包头市工业和信息化局", "市工信局", "工信局")),
    UnitNames(4, "市教育局", "department", ("包头市教育局", "市教育局")),
]


def test_a_text_that_names_a_district_proposes_only_that_district():
    items = [ItemText(62, "制定边境地区网络覆盖方案,按分工交由达茂旗牵头落实。", (3,)),
             ItemText(63, "推进校园网络建设，市教育局配合。", (3,))]
    got = [(s.unit_id, s.number, s.why) for s in suggest(items, UNITS)]
    assert (2, 62, "指标文字点名达茂旗") in got and not any(u == 1 and n == 62 for u, n, _ in got)
    assert (1, 63, "各旗县区（指标文字未点名具体旗县区）") in got and (2, 63, "各旗县区（指标文字未点名具体旗县区）") in got
    assert (3, 62, "牵头考核单位") in got and (4, 63, "指标文字点名") in got
    assert not any(u == 4 and n == 62 for u, n, _ in got)


def test_suggestions_for_the_2022_catalog_read_back_as_an_import_file(initialized, settings, tmp_path):
    with db.session_scope(settings) as session:
        rows = suggest_responsibilities(session, 2022)
    by_item = {}
    for unit, number, why in rows:
        by_item.setdefault(number, []).append((unit, why))
    # Item 62 names 达茂旗 (an alias of 达尔罕茂明安联合旗): only it among the districts, plus its lead.
    assert [(u, why.startswith("指标文字点名")) for u, why in by_item[62]][0][1]
    assert len([u for u, why in by_item[62] if why.startswith("指标文字点名")]) == 1
    assert "固阳县" not in [u for u, _ in by_item[62]] and ("市工信局", "牵头考核单位") in by_item[62]
    assert len([u for u, why in by_item[1] if why.startswith("各旗县区")]) == 10
    path = tmp_path / "承担.csv"
    path.write_text(suggestions_csv(rows), encoding="utf-8")
    parsed = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert parsed[0] == ["单位", "指标", "依据"] and len(parsed) == len(rows) + 1
    result = initialized("responsibilities", "import", path, "--year", "2022")
    assert result.exit_code == 0, result.output


def test_a_cycle_opens_on_the_default_rule_only_when_the_team_accepts_it(initialized, settings, tmp_path):
    from kaoping.models import CycleAcceptance
    from sqlmodel import select

    refused = initialized("cycle", "open", "2022H1")
    assert refused.exit_code != 0 and "尚未导入承担关系" in refused.output and "--accept-default-responsibilities" in refused.output
    assert "responsibilities suggest" in refused.output
    assert "还没有考评周期" in initialized("cycle", "list").output
    opened = initialized("cycle", "open", "2022H1", "--accept-default-responsibilities", "承担清单尚未印发")
    assert opened.exit_code == 0, opened.output
    with db.session_scope(settings) as session:
        accepted = session.exec(select(CycleAcceptance)).one()
    assert (accepted.subject, accepted.reason) == ("default_responsibilities", "承担清单尚未印发")


def test_with_an_imported_list_no_acceptance_is_needed(initialized, settings, tmp_path):
    with db.session_scope(settings) as session:
        rows = suggest_responsibilities(session, 2022)
    path = tmp_path / "承担.csv"
    path.write_text(suggestions_csv(rows), encoding="utf-8")
    assert initialized("responsibilities", "import", path, "--year", "2022").exit_code == 0
    opened = initialized("cycle", "open", "2022H1")
    assert opened.exit_code == 0, opened.output
