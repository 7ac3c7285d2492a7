"""`kaoping units list|import`: the unit registry imported from YAML and CSV, aliases, contacts, every refusal,
and what stays in the database (the shipped registry as the services read it: tests/services/reference/test_registry.py)."""

from __future__ import annotations

import pytest
from kaoping.models import AuditEntry, Contact, Unit, UnitAlias
from sqlmodel import func, select

from kaoping import db
from kaoping.services.reference.registry import UnitDirectory
from tests.conftest import write

#: What these commands leave in the database is checked on PostgreSQL too (tests/conftest.py: SQLITE_ONLY_FOLDERS).
BOTH_BACKENDS = {"test_bad_registry_is_refused", "test_csv_import_creates_then_updates_then_is_a_no_op",
                 "test_invalid_email_names_the_unit_and_the_address", "test_units_list",
                 "test_wrong_file_type_is_refused"}

CSV_HEADER = "代码,全称,简称,类别,别名,联络员,联络员邮箱,负责人,负责人邮箱\n"


def registry_counts(settings):
    with db.session_scope(settings) as session:
        return tuple(
            session.exec(select(func.count()).select_from(m)).one() for m in (Unit, UnitAlias, Contact, AuditEntry)
        )


def test_units_list(initialized):
    result = initialized("units", "list", "--group", "district")
    assert result.exit_code == 0
    assert "稀土高新区" in result.output and "达茂旗" in result.output and "市工信局" not in result.output
    assert initialized("units", "list", "--group", "nowhere").exit_code != 0


def test_csv_import_creates_then_updates_then_is_a_no_op(initialized, settings, tmp_path):
    path = write(
        tmp_path / "units.csv",
        "\ufeff" + CSV_HEADER + "dsj,包头市大数据中心,市大数据中心,部门,大数据中心;市大数据局,张三,zhangsan@dsj.baotou.example,李四,lisi@dsj.baotou.example\n",
    )
    first = initialized("units", "import", path)
    assert first.exit_code == 0 and "新增 1 个" in first.output
    again = initialized("units", "import", path)
    assert again.exit_code == 0 and "未变化" in again.output
    before = registry_counts(settings)
    path.write_text(CSV_HEADER + "dsj,包头市大数据中心,市大数据中心,department,大数据中心,王五,wangwu@dsj.baotou.example,李四,lisi@dsj.baotou.example\n", encoding="utf-8")
    updated = initialized("units", "import", path)
    assert updated.exit_code == 0 and "更新 1 个" in updated.output
    with db.session_scope(settings) as session:
        directory = UnitDirectory.load(session)
        assert directory.find("市大数据局") is None  # alias dropped
        unit = directory.resolve("大数据中心")
        emails = session.exec(select(Contact.email).where(Contact.unit_id == unit.id)).all()
        assert sorted(emails) == ["lisi@dsj.baotou.example", "wangwu@dsj.baotou.example"]
        last = session.exec(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert last.action == "unit.update" and {c["role"]: c["name"] for c in last.before["contacts"]}["liaison"] == "张三"
    assert registry_counts(settings)[3] == before[3] + 1


def test_invalid_email_names_the_unit_and_the_address(initialized, settings, tmp_path):
    before = registry_counts(settings)
    path = write(
        tmp_path / "units.csv",
        CSV_HEADER
        + "dsj,包头市大数据中心,市大数据中心,部门,,张三,zhangsan@@dsj,李四,lisi@dsj.baotou.example\n"
        + "xyz,包头市某局,市某局,部门,,赵六,zhao@xyz.baotou.example,,\n",
    )
    result = initialized("units", "import", path)
    assert result.exit_code != 0
    assert "包头市大数据中心" in result.output and "zhangsan@@dsj" in result.output and "第 2 行" in result.output
    assert registry_counts(settings) == before  # the valid second row was not imported either


@pytest.mark.parametrize(
    "content, expected",
    [
        ("units:\n  - code: a1\n    name: 甲局\n    group: 厅局\n", "类别"),
        ("units:\n  - code: a1\n    name: 甲局\n    group: department\n    aliases: [市工信局]\n", "已属于名录中的单位 gxj"),
        ("units:\n  - code: a1\n    name: 甲局\n    group: department\n    aliases: [乙]\n  - code: a2\n    name: 丙局\n    group: department\n    aliases: [乙]\n", "不能指向两个单位"),
        ("units: [oops\n", "YAML 格式错误"),
        ("units:\n  - name: 甲局\n    group: department\n", "缺少单位代码"),
    ],
    ids=["bad-group", "alias-taken", "alias-twice", "broken-yaml", "no-code"],
)
def test_bad_registry_is_refused(initialized, settings, tmp_path, content, expected):
    before = registry_counts(settings)
    result = initialized("units", "import", write(tmp_path / "units.yaml", content))
    assert result.exit_code != 0
    assert expected in result.output, result.output
    assert registry_counts(settings) == before


def test_wrong_file_type_is_refused(initialized, tmp_path):
    result = initialized("units", "import", write(tmp_path / "units.xlsx", b"PK\x03\x04junk"))
    assert result.exit_code != 0 and ".yaml" in result.output
