"""Reading a raw email the way Chinese mail clients write them (no server needed: milliseconds)."""

from __future__ import annotations

from datetime import UTC, datetime

from kaoping.notifications.mail.parse import decode_bytes, html_to_text, parse_message

from kaoping.adapters.archives import unpack_zip
from kaoping.adapters.uploads import Upload
from tests.imap_mail import forward_of, gbk_zip, reply


def test_raw_8bit_gbk_headers_and_rfc2231_gbk_filenames():
    raw = ("From: =?gb2312?B?" + __import__("base64").b64encode("东河区".encode("gbk")).decode() + "?= <Liaison@150202.Baotou.Example>\r\n"
           "Subject: ").encode() + "自评表（朱镕基路）".encode("gbk") + (
        "\r\nMessage-ID: <x1@unit>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").encode() + "镕".encode("gbk") + (
        "\r\n--b\r\nContent-Type: application/octet-stream\r\n"
        "Content-Disposition: attachment; filename*=gbk''%D7%D4%C6%C0%B1%ED.docx\r\n\r\nPK\r\n--b--\r\n").encode()
    message = parse_message(raw).message
    assert message.sender == "liaison@150202.baotou.example" and message.subject == "自评表（朱镕基路）"
    assert message.text == "镕" and [a.filename for a in message.attachments] == ["自评表.docx"]


def test_html_only_forwarded_and_reply_headers():
    original = reply("liaison@150202.baotou.example", "原件", [("内层.docx", b"PK inner")])
    raw = reply("a@b.example", "转发", text=None, html="<p>见<b>附件</b></p><script>x()</script>", forwarded=forward_of(original),
                headers={"In-Reply-To": "<kaoping.1@baotou.example>", "References": "<kaoping.0@baotou.example> <kaoping.1@baotou.example>"})
    message = parse_message(raw, internal_date=datetime(2022, 7, 5, 8, tzinfo=UTC)).message
    assert [a.filename for a in message.attachments] == ["内层.docx"]
    assert "见附件" in message.text and "x()" not in message.text and "表格已填好" in message.text
    assert message.replied_to == ("<kaoping.1@baotou.example>", "<kaoping.0@baotou.example>")
    assert message.received_at == datetime(2022, 7, 5, 8, tzinfo=UTC)


def test_automatic_mail_is_recognised_and_people_are_not():
    assert parse_message(reply("a@b.example", "hi")).automatic == ""
    assert "Auto-Submitted" in parse_message(reply("a@b.example", "hi", headers={"Auto-Submitted": "auto-replied"})).automatic
    assert parse_message(reply("a@b.example", "hi", headers={"Auto-Submitted": "no"})).automatic == ""
    assert parse_message(reply("postmaster@b.example", "退信")).automatic
    assert parse_message(reply("kaoping@baotou.example", "x"), own_addresses={"kaoping@baotou.example"}).automatic


def test_a_message_without_message_id_has_a_stable_digest_id():
    raw = reply("a@b.example", "hi", message_id="")
    assert parse_message(raw).message.message_id == parse_message(raw).message.message_id
    assert parse_message(raw).message.message_id.startswith("<sha256.")


def test_charsets_and_html():
    assert decode_bytes("朱镕基".encode("gbk"), "gb2312") == "朱镕基"
    assert decode_bytes("朱镕基".encode("utf-8"), None) == "朱镕基"
    assert html_to_text("<div>一</div><div>二<br>三</div>").split() == ["一", "二", "三"]


def test_zip_members_named_in_gbk_are_read():
    members = unpack_zip(Upload("x.zip", gbk_zip({"目录/东河区自评表.docx": b"a", "__MACOSX/._x": b"", "昆都仑区.docx": b"b"})))
    assert [(m.name, m.data) for m in members] == [("东河区自评表.docx", b"a"), ("昆都仑区.docx", b"b")]
