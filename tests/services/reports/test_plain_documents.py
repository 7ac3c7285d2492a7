"""Issue 26, Deliver 2: the 公文 say what happened in sentences of their own. No operator id or typed reason is
pasted; 等次 appear only when the policy names the issued 实施细则 (its 文号); kaoping's interim rules are called
专班口径, never the 办法's; an item alone in a group with fixed points is never flagged as resting on a split."""

from __future__ import annotations

import re
from datetime import date

import docx
import openpyxl
import pytest

from tests.factories import ACTOR, adjust_score, add_line, scored_cycle, write_reports, write_text

TONGBAO = "2022年上半年数字政府建设考评结果通报.docx"
BAOGAO = "2022年上半年数字政府建设考评情况报告.docx"
WORKBOOK = "2022年上半年数字政府建设考评结果（实绩考核）.xlsx"


def _text(path) -> str:
    document = docx.Document(path)
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def _documents(out) -> dict[str, str]:
    texts = {"通报": _text(out / TONGBAO), "报告": _text(out / BAOGAO)}
    texts.update({path.name: _text(path) for path in sorted((out / "反馈函").glob("*.docx"))})
    return texts


@pytest.mark.layout_only
def test_no_operator_id_no_typed_reason_no_grades_without_an_issued_rule(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    adjust_score(settings, unit="东河区", indicator=19, score="0.5", reason="（演示）上线通知属实 demo:专班")
    add_line(settings, unit="九原区", kind="bonus", points="1", reason="政务服务试点经验全区推广")
    out = tmp_path / "r"
    write_reports(settings, out, cycle="2022H1", signed=date(2022, 7, 15))
    texts = _documents(out)
    for name, text in texts.items():
        assert ACTOR not in text and "demo" not in text and "演示" not in text, name
        assert "上线通知属实" not in text, name  # the typed reason of a verification is never pasted
        assert not re.search(r"等次(为|暂为|确定为)|优秀等次|良好等次|一般等次", text), name
        assert "一票否决情况" not in text and "办法三(四)" not in text, name
    assert "东河区指标19：经专班核实，得分由牵头考核单位评定的" in texts["报告"] and "调整为0.50分。" in texts["报告"]
    assert "九原区：加分1.00分，事由：政务服务试点经验全区推广。" in texts["报告"]
    for name in ("通报", "报告"):
        assert "尚未以文件印发，本次只公布得分和排名，不确定等次" in texts[name]
        assert "按专班口径以所在分组或大项分值平均分配计算" in texts[name]
        assert "“加减分”为专班记录的加分、扣分事项合计（按专班口径" in texts[name]
    # Items 5, 18, 86 and 90 are each alone in a group with fixed points: their points are exact, never flagged.
    flagged = re.search(r"指标([\d–、]+)（共(\d+)项）的分值牵头考核单位未予明确", texts["通报"]).group(1)
    numbers = {n for part in flagged.split("、") for n in (range(int(part.split("–")[0]), int(part.split("–")[-1]) + 1))}
    assert numbers and not numbers & {5, 18, 86, 90}
    sheet = openpyxl.load_workbook(out / WORKBOOK).worksheets[0]
    assert "等次" not in [c.value for c in sheet[2]]


@pytest.mark.layout_only
def test_grades_appear_with_the_issued_rule_and_its_number(initialized_db, settings, tmp_path):
    default = (settings.data_dir / "policies" / "default.yaml").read_text(encoding="utf-8")
    assert 'adopted_by: ""' in default
    policy = write_text(tmp_path / "adopted.yaml", default.replace('adopted_by: ""', 'adopted_by: "包数字政府办〔2022〕3号"'))
    scored_cycle(settings, tmp_path, policy=policy)
    out = tmp_path / "r"
    write_reports(settings, out, cycle="2022H1", signed=date(2022, 7, 15))
    texts = _documents(out)
    citation = "《包头市数字政府建设考评计分实施细则》（包数字政府办〔2022〕3号）"
    assert f"（等次依据{citation}）" in texts["通报"] and "不确定等次" not in texts["通报"]
    assert f"等次划分、加减分和一票否决依据{citation}" in texts["报告"]
    letter = next(text for name, text in texts.items() if name.endswith("反馈函.docx"))
    assert re.search(r"等次为(优秀|良好|一般|较差)（依据" + re.escape(citation), letter)
    table = next(t for t in docx.Document(out / TONGBAO).tables if t.rows[0].cells[0].text.startswith("排名"))
    assert table.rows[0].cells[-1].text == "等次"
