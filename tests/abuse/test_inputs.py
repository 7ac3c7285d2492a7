"""Issue 14 item 6: inputs read as people mean them and bounded as they are parsed. Percentages
read as percentages; a formula without its saved result is refused; a file within the size
limits that would expand to gigabytes is refused while streaming; links and non-regular files
in the inbox are refused without being followed; every file received is kept (empty and
oversized included); parallel intakes of one unit's form end in one current submission."""

from __future__ import annotations

import io
import os
import threading

import openpyxl
import pytest
from kaoping.models import ReceivedFile, Submission
from sqlmodel import select

from kaoping import db
from kaoping.adapters.spreadsheets import read_table
from kaoping.adapters.uploads import (
    MAX_UPLOAD_BYTES,
    Upload,
    check_office_zip,
    read_upload,
)
from kaoping.domain.errors import InvalidInput
from kaoping.services.returns.intake import receive, receive_path
from tests.abuse.helpers import (
    filled_self_assessment,
    last_received,
    under_limit_bomb,
    zip_bytes,
)


def _xlsx(build) -> Upload:
    workbook = openpyxl.Workbook()
    build(workbook.active)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return Upload("结果.xlsx", buffer.getvalue())


def test_percentage_formatted_cell_reads_as_a_percentage():
    def sheet(ws):
        ws.append(["单位", "得分"])
        ws.append(["东河区", 0.95])
        ws["B2"].number_format = "0%"
        ws.append(["青山区", 0.955])
        ws["B3"].number_format = "0.0%"
        ws.append(["九原区", 88])

    _, rows = read_table(_xlsx(sheet))
    assert [r.values["score"] for r in rows] == ["95%", "95.5%", "88"]


def test_formula_without_saved_value_is_refused():
    def sheet(ws):
        ws.append(["单位", "得分"])
        ws.append(["东河区", "=80+5"])  # written by a program: no cached result

    with pytest.raises(InvalidInput) as refused:
        read_table(_xlsx(sheet))
    assert "公式单元格没有计算结果，请在 Excel/WPS 中保存后重新发送" in str(refused.value) and "B2" in str(refused.value)


def test_under_limit_bomb_is_refused_while_streaming():
    data = under_limit_bomb()
    assert len(data) < MAX_UPLOAD_BYTES
    with pytest.raises(InvalidInput) as refused:
        check_office_zip(Upload("bomb.docx", data))
    assert "数量异常庞大" in str(refused.value)


def _document(body: bytes, doctype: bytes = b"") -> bytes:
    """A .docx of one part, stored (not compressed: a repetitive body would trip the compression-ratio check first)."""
    return zip_bytes({"word/document.xml": b'<?xml version="1.0" encoding="UTF-8"?>' + doctype
                      + b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                      + body + b"</w:body></w:document>"}, stored={"word/document.xml"})


def test_elements_are_counted_across_the_chunks_of_a_part():
    """The count is read from the bytes ("<" not followed by "/"), a megabyte at a time: a closing tag cut
    between two chunks is not an element, an element cut between them is one, exactly at the limit."""
    from kaoping.adapters.uploads import _XmlCheck

    xml = b"<a>" + b"<b>x</b>" * 1000 + b"<c/></a>"
    for cut in range(1, 40):
        check = _XmlCheck(1002)
        for start in range(0, len(xml), cut):
            check.feed(xml[start:start + cut])
        assert check.close() == 1002
    with pytest.raises(OverflowError):
        check = _XmlCheck(1001)
        check.feed(xml)
        check.close()


def test_a_part_that_declares_entities_is_counted_as_they_expand():
    """An entity could expand into elements the bytes do not show: a part that declares one (Office never
    does) is counted element by element — and a small one that stays within every limit is read."""
    entity = b'<!DOCTYPE w:document [<!ENTITY p "<w:p/><w:p/><w:p/>">]>'
    check_office_zip(Upload("small.docx", _document(b"&p;" * 10, entity)))
    many = b'<!DOCTYPE w:document [<!ENTITY p "' + b"<w:p/>" * 20 + b'">]>'
    with pytest.raises(InvalidInput) as refused:  # 0.5 MB that expands to 3.2 million elements (40×: within expat's own bound)
        check_office_zip(Upload("entities.docx", _document(b"&p;" * 160_000, many)))
    assert "数量异常庞大" in str(refused.value)


def test_a_part_that_is_not_well_formed_xml_is_refused_as_corrupt():
    with pytest.raises(InvalidInput) as refused:
        check_office_zip(Upload("broken.docx", _document(b"<w:p><w:r></w:p>")))
    assert "已损坏" in str(refused.value) and "word/document.xml 不是有效的 XML" in str(refused.value)


def test_member_larger_than_declared_is_refused():
    data = bytearray(zip_bytes({"word/document.xml": b"<w:document/>" + b" " * 5000}))
    # Shrink the declared size in the central directory: the stream yields more than it says.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = (100).to_bytes(4, "little")
    with pytest.raises(InvalidInput) as refused:
        check_office_zip(Upload("lying.docx", bytes(data)))
    assert "已损坏" in str(refused.value) or "异常庞大" in str(refused.value)


def test_symlink_in_the_inbox_is_refused_not_followed(cycle_cli, settings, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the intake")
    link = tmp_path / "inbox" / "form.docx"
    link.parent.mkdir()
    link.symlink_to(secret)
    outcome = receive_path(settings, link, sender="liaison@150202.baotou.example", channel="inbox")
    assert not outcome.accepted and "符号链接" in outcome.reason
    kept = last_received(settings)
    assert kept.status == "refused" and kept.size == 0 and kept.details["link_target"] == str(secret)
    assert not (settings.received_dir / kept.sha256[:2] / kept.sha256).exists()


def test_fifo_in_the_inbox_is_refused_without_blocking(cycle_cli, settings, tmp_path):
    fifo = tmp_path / "pipe.docx"
    os.mkfifo(fifo)
    outcome = receive_path(settings, fifo, channel="inbox")
    assert not outcome.accepted and "不是普通文件" in outcome.reason and last_received(settings).status == "refused"


@pytest.mark.parametrize("size, expected", [(0, "空文件"), (MAX_UPLOAD_BYTES + 1, "太大")])
def test_empty_and_oversized_files_are_kept_with_the_refusal(cycle_cli, settings, tmp_path, size, expected):
    path = tmp_path / "f.docx"
    with path.open("wb") as handle:
        handle.write(b"x" * size)
    result = cycle_cli("intake", path)
    assert result.exit_code != 0 and expected in result.output and "Traceback" not in result.output
    kept = last_received(settings)
    assert kept.status == "refused" and kept.size == size and expected in kept.reason
    assert (settings.received_dir / kept.sha256[:2] / kept.sha256).stat().st_size == size


@pytest.mark.parametrize("identical", [True, False], ids=["identical", "different"])
def test_six_parallel_intakes_of_one_units_form(cycle_cli, settings, tmp_path, identical):
    if identical:  # one file sent six times (saving again could change its timestamps)
        uploads = [read_upload(filled_self_assessment(settings, tmp_path, "150202"))] * 6
    else:
        uploads = [read_upload(filled_self_assessment(settings, tmp_path, "150202", f"f{i}.docx", situation=f"第 {i} 份"))
                   for i in range(6)]
    outcomes, errors = [], []

    def one(upload):
        try:
            outcomes.append(receive(settings, upload, sender="liaison@150202.baotou.example"))
        except Exception as exc:  # noqa: BLE001 - the test is that there are none
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(u,)) for u in uploads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for o in outcomes:
        assert o.accepted or "同一时间收到了同一表格的多份文件" in o.reason, o.reason
    with db.session_scope(settings) as session:
        current = session.exec(select(Submission).where(Submission.current)).all()
        kept = session.exec(select(ReceivedFile).where(ReceivedFile.purpose.startswith("intake"))).all()
    assert len(current) == 1 and len(kept) == 6
    if identical:
        assert sorted(k.status for k in kept) == ["accepted"] + ["unchanged"] * 5
