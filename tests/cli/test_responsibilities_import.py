"""`kaoping responsibilities import|show`: an imported 承担 list replacing the default rule, refusals by row
(the default rule as the services read it: tests/services/reference/test_responsibilities.py)."""

from __future__ import annotations

from kaoping.models import Responsibility, ResponsibilitySet
from sqlmodel import func, select

from kaoping import db
from kaoping.services.reference.responsibilities import responsibilities_for
from tests.conftest import write

#: What these commands leave in the database is checked on PostgreSQL too (tests/conftest.py: SQLITE_ONLY_FOLDERS).
BOTH_BACKENDS = {"test_bad_header_and_missing_catalog", "test_bad_rows_are_refused_by_row",
                 "test_import_replaces_the_default"}


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
