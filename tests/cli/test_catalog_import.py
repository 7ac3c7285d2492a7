"""Catalog import, export and every refusal, through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import docx
import pytest
from kaoping.models import (
    AuditEntry,
    Catalog,
    Cycle,
    Indicator,
    IndicatorLead,
    ReceivedFile,
    Unit,
)
from sqlmodel import func, select

from kaoping import db
from tests import factories
from tests.conftest import CATALOG_2022, SEED, write

#: What these commands leave in the database is checked on PostgreSQL too (tests/conftest.py: SQLITE_ONLY_FOLDERS).
BOTH_BACKENDS = {"test_bad_catalog_is_refused_and_changes_nothing", "test_catalog_import_needs_a_migrated_database",
                 "test_catalog_of_another_year_from_an_export_file",
                 "test_changed_catalog_makes_a_new_version_unless_an_open_cycle_uses_the_year",
                 "test_docx_of_the_attachment_gives_the_identical_catalog", "test_export_roundtrips_through_yaml",
                 "test_export_shape",
                 "test_missing_file_is_refused", "test_shipped_catalog_is_what_the_importer_makes_of_the_seed",
                 "test_unknown_lead_names_the_closest_known_units", "test_unreadable_files_are_refused"}

ATTACHMENT_LINES = [
    line for line in SEED.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")
]


def counts(settings) -> dict[str, int]:
    """What a refused import must leave exactly as it was."""
    with db.session_scope(settings) as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Catalog, Indicator, IndicatorLead, Unit, AuditEntry, Cycle)
        }


def seed_with(*replacements: tuple[str, str]) -> str:
    text = SEED.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_shipped_catalog_is_what_the_importer_makes_of_the_seed(initialized, tmp_path):
    """kaoping/data/catalogs/2022.json must never drift from the seed text."""
    cli = initialized
    exported = cli("catalog", "export", "--year", "2022", "--format", "json")
    assert exported.exit_code == 0
    shipped = json.loads(CATALOG_2022.read_text(encoding="utf-8"))
    assert json.loads(exported.stdout) == shipped
    # Re-import the seed text itself: identical, so nothing happens.
    again = cli("catalog", "import", SEED, "--year", "2022")
    assert again.exit_code == 0 and "完全相同" in again.output


def test_export_shape(initialized):
    data = json.loads(initialized("catalog", "export", "--year", "2022").stdout)
    assert [a["points"] for a in data["areas"]] == ["25", "25", "20", "10", "10", "5", "5"]
    assert set(data["areas"][0]["groups"][0]) == {"code", "name", "points"}
    item = {i["number"]: i for i in data["indicators"]}
    assert item[3]["lead_assessors"] == ["包头市人民政府办公室", "包头市公安局"]
    assert item[8]["lead_assessors"] == ["包头市住房和城乡建设局", "包头市行政审批和政务服务局"]
    assert item[22]["lead_assessors"] == item[23]["lead_assessors"] == ["包头市文化旅游广电局"]
    assert item[1]["points"] is None and item[1]["default_points"] == "1.5"
    assert item[19]["points"] == "0.5"
    assert item[1]["milestone"] == {"text": "5月底取得明显成效并持续推进", "month": 5, "kind": "obvious_effect", "continuing": True}
    yaml_out = initialized("catalog", "export", "--year", "2022", "--format", "yaml")
    assert yaml_out.exit_code == 0 and "lead_assessors:" in yaml_out.stdout


def build_docx(path, paragraphs):
    document = docx.Document()
    for line in paragraphs:
        document.add_paragraph(line)
    document.save(path)
    return path


def test_docx_of_the_attachment_gives_the_identical_catalog(cli, settings, tmp_path):
    factories.initialize(settings, empty=True)
    factories.import_units(settings, CATALOG_2022.parent.parent / "registry" / "baotou.yaml")
    # The whole measures document as paragraphs, as in the original .docx; one indicator
    # broken over two paragraphs the way Word files often are.
    paragraphs = []
    for line in ATTACHMENT_LINES:
        if line.startswith("48 ."):
            cut = line.index("形成综合性城市管理数据中心。") + len("形成综合性城市管理数据中心。")
            paragraphs += [line[:cut], line[cut:]]
        else:
            paragraphs.append(line)
    path = build_docx(tmp_path / "附件：包头市数字政府建设考评指标.docx", paragraphs)
    result = cli("catalog", "import", path, "--year", "2022")
    assert result.exit_code == 0, result.output
    assert "90" in result.output
    from_docx = json.loads(cli("catalog", "export", "--year", "2022").stdout)
    assert from_docx == json.loads(CATALOG_2022.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "replacements, expected",
    [
        ((("一、政务服务“一网通办”(25分)", "一、政务服务“一网通办”(26分)"),), "合计应为 100 分"),
        ((("(0.5分)(5月底取得阶段性成效并持续推进,牵头考核单位:市审批服务局)\n20", "(1.5分)(5月底取得阶段性成效并持续推进,牵头考核单位:市审批服务局)\n20"),), "分值合计为 13 分"),
        ((("牵头考核单位:市卫健委", "牵头考核单位:市大数据局"),), "市大数据局"),
        ((("\n21 .完成信息平台", "\n20 .完成信息平台"),), "指标编号 20 重复出现 2 次"),
    ],
    ids=["areas-not-100", "group-items-not-adding-up", "unknown-lead", "duplicate-number"],
)
def test_bad_catalog_is_refused_and_changes_nothing(initialized, settings, tmp_path, replacements, expected):
    before = counts(settings)
    path = write(tmp_path / "bad.txt", seed_with(*replacements))
    result = initialized("catalog", "import", path, "--year", "2022")
    assert result.exit_code != 0
    assert expected in result.output, result.output
    assert "未导入任何内容" in result.output
    assert counts(settings) == before
    with db.session_scope(settings) as session:  # but the file itself was kept, as refused
        kept = session.exec(select(ReceivedFile).where(ReceivedFile.filename == "bad.txt")).one()
        assert kept.status == "refused" and expected in kept.reason
    assert (settings.received_dir / kept.sha256[:2] / kept.sha256).exists()


def test_unknown_lead_names_the_closest_known_units(initialized, tmp_path):
    path = write(tmp_path / "bad.txt", seed_with(("牵头考核单位:市医保局", "牵头考核单位:市医疗保险局")))
    result = initialized("catalog", "import", path, "--year", "2022")
    assert result.exit_code != 0
    assert "市医疗保险局" in result.output and "市医保局" in result.output
    assert "指标 21" in result.output


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("empty.docx", b"", "空文件"),
        ("renamed.docx", bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 512, "旧版"),
        ("notword.docx", "这不是 Word 文件".encode(), "不是有效的 Word"),
        ("picture.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "既不是 Word"),
        ("minutes.txt", "会议纪要\n今天开会。\n", "没有找到考评指标"),
    ],
)
def test_unreadable_files_are_refused(initialized, settings, tmp_path, name, content, expected):
    before = counts(settings)
    result = initialized("catalog", "import", write(tmp_path / name, content), "--year", "2022")
    assert result.exit_code != 0
    assert expected in result.output, result.output
    assert "Traceback" not in result.output
    assert counts(settings) == before


def test_missing_file_is_refused(initialized, tmp_path):
    result = initialized("catalog", "import", tmp_path / "nope.docx", "--year", "2022")
    assert result.exit_code != 0 and "找不到文件" in result.output


def test_changed_catalog_makes_a_new_version_unless_an_open_cycle_uses_the_year(initialized, settings, tmp_path):
    changed = write(tmp_path / "changed.txt", seed_with(("加强评价数据综合分析和应用", "加强评价数据综合分析与应用")))
    first = initialized("catalog", "import", changed, "--year", "2022")
    assert first.exit_code == 0 and "第 2 版" in first.output
    with db.session_scope(settings) as session:
        catalog = session.exec(select(Catalog).where(Catalog.version == 2)).one()
        session.add(Cycle(code="2022H1", year=2022, half=1, catalog_id=catalog.id))
    before = counts(settings)
    result = initialized("catalog", "import", SEED, "--year", "2022")
    assert result.exit_code != 0
    assert "2022H1" in result.output and "进行中" in result.output
    assert counts(settings) == before


def test_catalog_import_needs_a_migrated_database(cli, tmp_path):
    result = cli("catalog", "import", SEED, "--year", "2022")
    assert result.exit_code != 0 and "kaoping init" in result.output


def test_catalog_of_another_year_from_an_export_file(initialized, tmp_path):
    data = json.loads(CATALOG_2022.read_text(encoding="utf-8"))
    wrong = write(tmp_path / "2023.json", json.dumps(data, ensure_ascii=False))
    result = initialized("catalog", "import", wrong, "--year", "2023")
    assert result.exit_code != 0 and "2022 年" in result.output


def test_export_roundtrips_through_yaml(initialized, tmp_path):
    path = tmp_path / "c.yaml"
    assert initialized("catalog", "export", "--year", "2022", "--format", "yaml", "--out", path).exit_code == 0
    result = initialized("catalog", "import", path, "--year", "2022")
    assert result.exit_code == 0 and "完全相同" in result.output
    data = json.loads(initialized("catalog", "export", "--year", "2022").stdout)
    assert len(data["indicators"]) == 90
