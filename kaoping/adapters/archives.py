"""A .zip of several returned forms, unpacked within the upload limits (``kaoping.adapters.uploads``).

Offices zip a batch of filled forms before mailing them. Each member becomes an ``Upload`` of
its own; the archive is refused as a whole when it is not what it claims (corrupt, encrypted,
a bomb: more than ``MAX_UNZIPPED_BYTES`` produced, a member larger than ``MAX_UPLOAD_BYTES``,
more than ``MAX_MEMBERS`` files). Member names written by Chinese Windows (GBK without the
UTF-8 flag) are read as GB18030. Folders, ``__MACOSX/`` and hidden files are skipped; a zip
inside the zip is given as a member (the intake refuses it with its reason).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from kaoping.adapters.uploads import (
    MAX_COMPRESSION_RATIO,
    MAX_UNZIPPED_BYTES,
    MAX_UPLOAD_BYTES,
    Upload,
)
from kaoping.domain.errors import InvalidInput

MAX_MEMBERS = 200  # a batch of returns; the province's largest district has fewer departments
_CHUNK = 1 << 20


def is_zip(upload: Upload) -> bool:
    return upload.suffix == ".zip" or (upload.data[:4] == b"PK\x03\x04" and upload.suffix not in (
        ".docx", ".docm", ".xlsx", ".xlsm", ".dotx"))


def _member_name(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if not info.flag_bits & 0x800:  # no UTF-8 flag: zipfile read the bytes as cp437
        raw = name.encode("cp437", errors="replace")
        for codec in ("utf-8", "gb18030"):
            try:
                name = raw.decode(codec)
                break
            except UnicodeDecodeError:
                continue
    return PurePosixPath(name.replace("\\", "/")).name


def unpack_zip(upload: Upload) -> list[Upload]:
    """The files inside a .zip, each bounded; a refusal (``InvalidInput``) says what to send instead."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(upload.data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, ValueError) as exc:
        raise InvalidInput(f"压缩包 {upload.name} 已损坏，无法解压：请重新压缩后发送，或直接把 Word 表格作为附件发送。"
                           " / The zip file is corrupt.") from exc
    wanted = [i for i in infos if not i.filename.startswith("__MACOSX/")
              and not _member_name(i).startswith((".", "~$")) and _member_name(i)]
    if len(wanted) > MAX_MEMBERS:
        raise InvalidInput(f"压缩包 {upload.name} 含 {len(wanted)} 个文件（上限 {MAX_MEMBERS} 个）：请分成几封邮件发送。"
                           " / Too many files in the zip.")
    if any(i.flag_bits & 0x1 for i in wanted):
        raise InvalidInput(f"压缩包 {upload.name} 设置了密码，无法读取：请不加密码重新压缩，或直接发送 Word 表格。"
                           " / The zip is encrypted.")
    declared = sum(i.file_size for i in wanted)
    packed = max(1, sum(i.compress_size for i in wanted))
    if declared > MAX_UNZIPPED_BYTES or declared / packed > MAX_COMPRESSION_RATIO * 2:
        raise InvalidInput(f"压缩包 {upload.name} 解压后异常庞大（{declared / 1048576:.0f} MB），疑似恶意压缩文件，已拒收："
                           "请直接发送 Word 表格。 / The zip expands abnormally; refused.")
    members, total = [], 0
    for info in wanted:
        name = _member_name(info)
        if info.file_size > MAX_UPLOAD_BYTES:
            raise InvalidInput(f"压缩包 {upload.name} 中的 {name} 太大（{info.file_size / 1048576:.1f} MB，上限 "
                               f"{MAX_UPLOAD_BYTES / 1048576:.0f} MB）：请压缩图片或删去不必要的内容后重新发送。 / A member is too large.")
        data = bytearray()
        try:
            with archive.open(info) as member:
                while chunk := member.read(_CHUNK):
                    data += chunk
                    total += len(chunk)
                    if len(data) > info.file_size or len(data) > MAX_UPLOAD_BYTES or total > MAX_UNZIPPED_BYTES:
                        raise InvalidInput(f"压缩包 {upload.name} 解压后异常庞大，疑似恶意压缩文件，已拒收：请直接发送 Word 表格。"
                                           " / The zip expands abnormally; refused.")
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
            raise InvalidInput(f"压缩包 {upload.name} 中的 {name} 无法解压（已损坏或使用了不支持的压缩方式）：请重新压缩后发送。"
                               " / A member cannot be unpacked.") from exc
        members.append(Upload(name=name, data=bytes(data)))
    if not members:
        raise InvalidInput(f"压缩包 {upload.name} 是空的：请把填好的 Word 表格放入后重新发送。 / The zip is empty.")
    return members
