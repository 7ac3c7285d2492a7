"""The paragraphs of a Word document, or the lines of its text."""

from __future__ import annotations

import io

from kaoping.adapters.uploads import Upload, check_office_zip
from kaoping.domain.errors import InvalidInput
from kaoping.domain.text import decode_text


def paragraphs_of(upload: Upload) -> list[str]:
    """The paragraphs of the attachment, from a .docx or a text file."""
    if upload.suffix in (".docx", ".docm", ".doc") or upload.data[:4] == b"PK\x03\x04":
        check_office_zip(upload, kind="docx")
        import docx  # python-docx

        try:
            document = docx.Document(io.BytesIO(upload.data))
        except Exception as exc:  # python-docx raises several kinds for broken parts
            raise InvalidInput(f"无法读取 Word 文件 {upload.name}（{exc.__class__.__name__}）：请用 Word/WPS 打开后重新保存再导入。") from exc
        return [p.text for p in document.paragraphs]
    if upload.data[:8] == bytes.fromhex("d0cf11e0a1b11ae1"):
        check_office_zip(upload, kind="docx")  # raises the legacy-format message
    try:
        text = decode_text(upload.data)
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"文件 {upload.name} 既不是 Word (.docx) 文件也不是文本文件：请提供考评指标附件的 .docx 或其文字（.txt）。"
        ) from exc
    return [line for line in text.splitlines() if not line.lstrip().startswith("#")]


