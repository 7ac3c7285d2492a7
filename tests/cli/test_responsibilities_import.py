"""承担关系: the default rule, an imported list, refusals."""

from __future__ import annotations

import json

from kaoping.models import Responsibility, ResponsibilitySet
from sqlmodel import func, select

from kaoping import db
from kaoping.services.reference.registry import UnitDirectory
from kaoping.services.reference.responsibilities import responsibilities_for
from tests.conftest import CATALOG_2022, write


def test_default_rule(initialized, settings):
    with db.session_scope(settings) as session:
        view = responsibilities_for(session, 2022)
        directory = UnitDirectory.load(session)
        donghe = directory.resolve("东河区").id
        gxj = directory.resolve("市工信局").id
        wjw = directory.resolve("市卫健委").id
        zfb = directory.resolve("市政府办公室").id
    assert view.is_default
    assert {n for u, n in view.pairs if u == donghe} == set(range(1, 91))
    assert {n for u, n in view.pairs if u == wjw} == {20}
    assert {n for u, n in view.pairs if u == zfb} == {3, 4, 5, 86, 90}
    assert len({n for u, n in view.pairs if u == gxj}) == 28
    # 10 districts × 90, plus one pair per (department, indicator it leads): the catalog
    # names 101 such pairs (市工信局 28, 市审批服务局 19, 市委网信办 8, 市市场监管局 8, …).
    catalog = json.loads(CATALOG_2022.read_text(encoding="utf-8"))
    led = sum(len(i["lead_assessors"]) for i in catalog["indicators"])
    assert led == 101
    assert len(view.pairs) == 10 * 90 + led


def test_import_replaces_the_default(initialized, settings, tmp_path):
    path = write(tmp_path / "承担.csv", "\ufeff单位,指标\n东河区,1\n东河区, ２ \n市卫健委,20\n达茂旗,62\n东河区,1\n")
    result = initialized("responsibilities", "import", path, "--year", "2022")
    assert result.exit_code == 0, result.output
    assert "4 个单位" not in result.output and "3 个单位" in result.output and "共 4 项" in result.output
    with db.session_scope(settings) as session:
        view = responsibilities_for(session, 2022)
        assert not view.is_default and len(view.pairs) == 4
    again = initialized("responsibilities", "import", path, "--year", "2022")
    assert "未作改动" in again.output
    shown = initialized("responsibilities", "show", "--year", "2022")
    assert "导入" in shown.output and "承担.csv" in shown.output


def test_bad_rows_are_refused_by_row(initialized, settings, tmp_path):
    path = write(tmp_path / "r.csv", "单位,指标\n东河区,1\n东合区,2\n青山区,91\n青山区,第三项\n")
    result = initialized("responsibilities", "import", path, "--year", "2022")
    assert result.exit_code != 0
    out = result.output
    assert "第 3 行" in out and "东合区" in out and "东河区" in out  # closest match named
    assert "第 4 行" in out and "91" in out
    assert "第 5 行" in out and "第三项" in out
    with db.session_scope(settings) as session:
        assert session.exec(select(func.count()).select_from(ResponsibilitySet)).one() == 0
        assert session.exec(select(func.count()).select_from(Responsibility)).one() == 0


def test_bad_header_and_missing_catalog(initialized, cli, tmp_path):
    bad = write(tmp_path / "r.csv", "名称,编号\n东河区,1\n")
    assert "表头" in initialized("responsibilities", "import", bad, "--year", "2022").output
    nocat = initialized("responsibilities", "import", write(tmp_path / "ok.csv", "单位,指标\n东河区,1\n"), "--year", "2031")
    assert nocat.exit_code != 0 and "2031 年的考评指标尚未导入" in nocat.output
