"""Files people send kaoping, read safely.

``read_upload`` refuses what is not what it claims to be (empty, too large, a renamed
.doc, a macro-enabled .docm, a zip bomb) with a reason a sender can act on. Keeping every
file received is the service ``kaoping.records.received``.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kaoping.domain.errors import InvalidInput

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # a filled form with photos of evidence stays well below
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100  # Word parts compress 5-20x; a bomb compresses 1000x
# XML elements across the parts of one file: the largest form kaoping sends (a scoring sheet of
# ~16,000 rows, 83 elements a row) has about 1.3 million; twice that is refused as a bomb. The
# intake reads Word tables as a stream (``kaoping.adapters.word.package``), so its memory does not
# grow with the count; this bound caps the work (benchmarks/intake_memory.py).
MAX_XML_ELEMENTS = 3_000_000
# A workbook is loaded whole by openpyxl (about 0.25 KB an element): 1,000,000 elements (a sheet of
# ~80,000 rows × 5 columns: 272 MB measured) stay under 300 MB; larger data goes in as CSV.
MAX_XLSX_ELEMENTS = 1_000_000
_CHUNK = 1 << 20

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


def read_upload(path: Path, *, max_bytes: int = MAX_UPLOAD_BYTES, follow_symlinks: bool = True) -> Upload:
    """The bytes of a regular file, at most ``max_bytes`` (read bounded, whatever the file claims).

    ``follow_symlinks=False`` (the inbox folder): a symbolic link or anything but a regular file
    (a FIFO, a device) is refused without being opened."""
    path = Path(path)
    if not follow_symlinks and path.is_symlink():
        raise InvalidInput(f"{path.name} 是一个符号链接（快捷方式），不是收到的文件，不予读取：请把文件本身放入收件文件夹。"
                           " / Symbolic links are refused.")
    if not path.exists():
        raise InvalidInput(f"找不到文件 {path}：请检查路径是否正确。 / File not found: {path}")
    if path.is_dir():
        raise InvalidInput(f"{path} 是一个文件夹，不是文件。 / {path} is a directory.")
    mode = path.stat().st_mode if follow_symlinks else path.lstat().st_mode
    if not stat.S_ISREG(mode):
        raise InvalidInput(f"{path.name} 不是普通文件（设备、管道等），不予读取：请把收到的文件本身放入收件文件夹。"
                           " / Not a regular file.")
    flags = os.O_RDONLY | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0)) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InvalidInput(f"无法打开文件 {path.name}（{exc.strerror}）：请检查文件后重新发送。 / Cannot open the file.") from exc
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise InvalidInput(f"{path.name} 不是普通文件，不予读取。 / Not a regular file.")
        data = handle.read(max_bytes + 1)
    size = len(data)
    if size == 0:
        raise InvalidInput(f"文件 {path.name} 是空文件（0 字节）：请确认保存后重新发送。 / The file is empty.")
    if size > max_bytes:
        size = max(size, path.stat().st_size)
        raise InvalidInput(
            f"文件 {path.name} 太大（{size / 1048576:.1f} MB，上限 {max_bytes / 1048576:.0f} MB）："
            "请压缩图片或删去不必要的附件后重新发送。 / The file is larger than the limit."
        )
    return Upload(name=path.name, data=data)


def _bomb(upload: Upload, total: int) -> InvalidInput:
    return InvalidInput(
        f"文件 {upload.name} 解压后异常庞大（{total / 1048576:.0f} MB 以上），疑似恶意压缩文件，已拒收："
        "请用正常保存的文件重新发送。 / The file expands abnormally (zip bomb); refused."
    )


class _XmlCheck:
    """One XML part checked as a stream, in C: expat tells whether it is well-formed (no handler, so no
    Python call per element) and the elements are counted from the bytes. Every element starts with a
    "<" that is not "</" (comments, processing instructions and CDATA count too: an upper bound), as
    long as no entity is declared; a part that declares one (Office never does: an entity could expand
    into elements) is counted element by element from then on. Entities are never fetched."""

    def __init__(self, limit: int):
        from xml.parsers import expat

        self.limit, self.counted, self.exact, self.last = limit, 0, None, b""
        self.parser = expat.ParserCreate()
        self.parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser.EntityDeclHandler = self._entity_declared

    def _entity_declared(self, *_):
        self.exact = 0
        self.parser.EntityDeclHandler = None
        self.parser.StartElementHandler = self._start

    def _start(self, *_):
        self.exact += 1
        if self.counted + self.exact > self.limit:
            raise OverflowError(self.exact)

    def feed(self, chunk: bytes) -> None:
        if self.exact is None:
            # A "<" that ends the chunk is counted with the next one, which tells whether it opens "</".
            self.counted += (chunk.count(b"<") - chunk.count(b"</") - (chunk[-1:] == b"<")
                             + (self.last == b"<" and chunk[:1] != b"/"))
            self.last = chunk[-1:]
            if self.counted > self.limit:
                raise OverflowError(self.counted)
        self.parser.Parse(chunk, False)

    def close(self) -> int:
        self.parser.Parse(b"", True)
        return self.counted + (self.exact or 0)


def _check_members(archive: zipfile.ZipFile, upload: Upload, label: str, limit: int) -> None:
    """Decompress every member as a stream, counting the bytes actually produced against the
    declared size and the limit, and the XML elements of the parts the readers will parse."""
    from xml.parsers.expat import ExpatError

    total = 0
    elements = 0
    for info in archive.infolist():
        if info.is_dir():
            continue
        is_xml = info.filename.lower().endswith((".xml", ".rels"))
        parser = _XmlCheck(limit - elements) if is_xml else None
        produced = 0
        try:
            with archive.open(info) as member:
                while chunk := member.read(_CHUNK):
                    produced += len(chunk)
                    total += len(chunk)
                    if produced > info.file_size or total > MAX_UNZIPPED_BYTES:
                        raise _bomb(upload, total)
                    if parser is not None:
                        parser.feed(chunk)
            if parser is not None:
                elements += parser.close() or 0
        except OverflowError:
            raise InvalidInput(
                f"文件 {upload.name} 含有数量异常庞大的内容元素（超过 {limit:,} 个），疑似恶意构造的文件，已拒收："
                f"请用正常保存的 {label} 文件重新发送；表格确实很大的，请分成几份发送"
                + ("或另存为 CSV 文件" if label.startswith("Excel") else "") + "。 / Too many XML elements; refused."
            ) from None
        except ExpatError as exc:
            raise InvalidInput(f"文件 {upload.name} 已损坏（{info.filename} 不是有效的 XML）：请用 Office/WPS 打开后重新保存再发送。"
                               " / Corrupt XML part.") from exc
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
            raise InvalidInput(f"文件 {upload.name} 已损坏，无法解压（{info.filename}）：请重新保存后发送。 / The file is corrupt.") from exc


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
    _check_members(archive, upload, label, MAX_XML_ELEMENTS if kind == "docx" else MAX_XLSX_ELEMENTS)
    return archive
