"""Files people send kaoping, read safely.

``read_upload`` refuses what is not what it claims to be (empty, too large, a renamed
.doc, a macro-enabled .docm, a zip bomb) with a reason a sender can act on. Keeping every
file received is the service ``kaoping.services.received``.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kaoping.domain.errors import InvalidInput

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # a filled form with photos of evidence stays well below
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100  # Word parts compress 5-20x; a bomb compresses 1000x

OLE_SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")  # Word 97-2003 .doc, old .xls
ZIP_SIGNATURE = b"PK\x03\x04"


@dataclass(frozen=True)
class Upload:
    """The bytes of one received file, with what is needed to keep and cite it."""

    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix.lower()


def read_upload(path: Path, *, max_bytes: int = MAX_UPLOAD_BYTES) -> Upload:
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"找不到文件 {path}：请检查路径是否正确。 / File not found: {path}")
    if path.is_dir():
        raise InvalidInput(f"{path} 是一个文件夹，不是文件。 / {path} is a directory.")
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput(f"文件 {path.name} 是空文件（0 字节）：请确认保存后重新发送。 / The file is empty.")
    if size > max_bytes:
        raise InvalidInput(
            f"文件 {path.name} 太大（{size / 1048576:.1f} MB，上限 {max_bytes / 1048576:.0f} MB）："
            "请压缩图片或删去不必要的附件后重新发送。 / The file is larger than the limit."
        )
    return Upload(name=path.name, data=path.read_bytes())


def check_office_zip(upload: Upload, *, kind: str = "docx") -> zipfile.ZipFile:
    """Open an Office Open XML file (.docx/.xlsx) defensively and return the archive.

    ``kind`` is "docx" or "xlsx"; the refusals name what the sender should do instead.
    """
    label = "Word (.docx)" if kind == "docx" else "Excel (.xlsx)"
    data = upload.data
    if data.startswith(OLE_SIGNATURE):
        old = ".doc" if kind == "docx" else ".xls"
        raise InvalidInput(
            f"文件 {upload.name} 是旧版 Office 97-2003 格式（{old}），不是 {label}："
            f"请在 Office/WPS 中打开后“另存为” {label} 再发送。 / This is a legacy {old} file; save it as {label}."
        )
    if not data.startswith(ZIP_SIGNATURE):
        raise InvalidInput(
            f"文件 {upload.name} 不是有效的 {label} 文件（可能是改了扩展名的其他文件或已损坏）："
            f"请用 Office/WPS 打开确认后重新保存为 {label}。 / Not a valid {label} file."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise InvalidInput(f"文件 {upload.name} 已损坏，无法打开：请重新保存后发送。 / The file is corrupt.") from exc
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_UNZIPPED_BYTES or total / packed > MAX_COMPRESSION_RATIO:
        raise InvalidInput(
            f"文件 {upload.name} 解压后异常庞大（{total / 1048576:.0f} MB），疑似恶意压缩文件，已拒收："
            "请用正常保存的文件重新发送。 / The file expands abnormally (zip bomb); refused."
        )
    names = {i.filename for i in infos}
    if any(n.lower().endswith("vbaproject.bin") for n in names) or upload.suffix in (".docm", ".xlsm"):
        raise InvalidInput(
            f"文件 {upload.name} 含有宏（.docm/.xlsm），出于安全原因不予接收："
            f"请“另存为”不含宏的 {label} 后重新发送。 / Macro-enabled documents are refused; save as {label}."
        )
    main_part = "word/document.xml" if kind == "docx" else "xl/workbook.xml"
    if main_part not in names:
        raise InvalidInput(
            f"文件 {upload.name} 不是 {label} 文件（缺少 {main_part}）：请确认文件类型后重新发送。 / Not a {label} file."
        )
    return archive
