"""Issue 26, Deliver 3: the signer sees what they sign. The sign-off email carries in its body what the signature
means, the counts, the top and bottom of each group, what is open and the defaults accepted; it attaches the
征求意见稿 通报 and the results workbook; it explains signing by reply first, names the web page by its
PREFECT_UI_URL link, and never shows a command line."""

from __future__ import annotations

import io

import docx
import openpyxl
from sqlmodel import select

from kaoping import db
from kaoping.models import OutboxBlob, OutboxMessage
from kaoping.services.signoff.signatures import ask_signer
from tests.factories import WAITING_RUN, result_rows, scored_cycle

LINK = "https://kaoping.baotou.example/runs/flow-run/" + WAITING_RUN


def test_the_signoff_email_summarises_and_attaches_what_is_signed(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    with db.session_scope(settings) as session:
        ask_signer(session, settings, cycle_code="2022H1", stage="verification", flow_run_id=WAITING_RUN, link=LINK,
                   actor="flow:test")
    with db.session_scope(settings) as session:
        message = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_request")).one()
        text, html, attachments = message.text_body, message.html_body, list(message.attachments)
        blobs = {a["sha256"]: session.get(OutboxBlob, a["sha256"]).data for a in attachments}
    rows = result_rows(settings)
    for body in (text, html):
        assert "签字的含义：专班负责人签字" in body and "共36个单位参加考评" in body
        top = next(r for r in rows if r["group"] == "district")
        bottom = [r for r in rows if r["group"] == "department"][-1]
        assert f"前三名{top['unit_name']}{top['total']}分" in body, top
        assert f"后三名{bottom['unit_name']}{bottom['total']}分" in body, bottom
        assert "专班已确认的默认做法：51项指标的分值" in body and "没有尚待处理的问题" in body
        assert "kaoping " not in body.replace("（kaoping）", "") and "127.0.0.1" not in body and "half_year_cycle" not in body
        assert LINK in body
        # Signing by reply comes before the web page.
        assert body.index("直接回复本邮件") < body.index(LINK)
    names = [a["filename"] for a in attachments]
    # The draft 通报 and the workbook first; the verification's 自评项核实清单 after them, where there are self-scored items.
    assert names[:2] == ["2022年上半年数字政府建设考评结果通报（征求意见稿）.docx", "2022年上半年数字政府建设考评结果（实绩考核）.xlsx"]
    assert names[2:] in ([], ["2022年上半年自评项核实清单.xlsx"])
    tongbao = docx.Document(io.BytesIO(blobs[attachments[0]["sha256"]]))
    assert any("征求意见稿" in p.text for p in tongbao.paragraphs)
    book = openpyxl.load_workbook(io.BytesIO(blobs[attachments[1]["sha256"]]))
    assert book.sheetnames == ["旗县区、稀土高新区", "市直部门、单位"]
