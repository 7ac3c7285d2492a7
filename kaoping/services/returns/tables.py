"""The tables of a returned form, read back and compared with what was issued.

Each problem is named for the sender (which table, which row, which column, what to do); the
caller refuses the file with all of them at once. ``content_digest`` is what two returns of the
same form are compared by: equal digests mean the same table content, whatever bytes Word saved.
"""

from __future__ import annotations

import hashlib
import json

from kaoping.adapters.uploads import Upload
from kaoping.adapters.word.package import ReadTable, read_tables
from kaoping.domain.errors import InvalidInput
from kaoping.domain.text import fold
from kaoping.models import IssuedForm
from kaoping.services.forms import FormKindSpec, TableLayout


def _compare_rows(expected: list[list[str]], got: list[list[str]], table_layout: TableLayout, label: str) -> list[str]:
    """Name each row added, removed, reordered or whose identity cells were edited."""
    problems = []
    names = [table_layout.header[c] for c in table_layout.identity_columns]
    if len(got) != len(expected):
        change = "增加" if len(got) > len(expected) else "删除"
        problems.append(f"{label}应有 {len(expected)} 行，现有 {len(got)} 行：表格的行被{change}了。请在原表上填写，不要增删行。")
    expected_keys = [tuple(r) for r in expected]
    for index, (want, have) in enumerate(zip(expected, got, strict=False), start=2):
        if list(want) == list(have):
            continue
        if tuple(have) in expected_keys:
            problems.append(f"{label}第 {index} 行：行的顺序被调整了（这一行原在第 {expected_keys.index(tuple(have)) + 2} 行）。请恢复原顺序。")
            continue
        for name, w, h in zip(names, want, have, strict=True):
            if w != h:
                shown = h if len(h) <= 20 else h[:20] + "…"
                original = w if len(w) <= 20 else w[:20] + "…"
                problems.append(f"{label}第 {index} 行“{name}”列被改动（原为“{original}”，现为“{shown}”）。该栏由系统填写，请勿修改。")
    return problems


def _find_table(tables: list[ReadTable], header) -> ReadTable | None:
    """The first table whose header row starts with ``header`` (compared folded), or None."""
    wanted = [fold(h) for h in header]
    for table in tables:
        if table.rows and [fold(c) for c in table.rows[0][: len(wanted)]] == wanted:
            return table
    return None


def _read_table(tables: list[ReadTable], table_layout: TableLayout, expected: list[list[str]], problems: list[str]):
    table = _find_table(tables, table_layout.header)
    label = table_layout.label
    if table is None:
        problems.append(
            f"找不到{label}（表头应为：{'、'.join(table_layout.header)}）：表头被修改或表格被删除。请使用收到的原表格填写。"
        )
        return []
    if table.merged:
        problems.append(f"{label}中有合并的单元格：系统发出的表格没有合并单元格。请在收到的原表格上填写，不要合并或拆分单元格。")
        return []
    rows = table.rows[1:]
    width = len(table_layout.header)
    short = [(index, len(r)) for index, r in enumerate(rows, start=2) if len(r) < width]
    for index, count in short[:10]:
        problems.append(f"{label}第 {index} 行只有 {count} 列，应有 {width} 列：这一行的单元格被删除了。"
                        "请在收到的原表格上填写，不要删除单元格。")
    if len(short) > 10:
        problems.append(f"{label}共有 {len(short)} 行缺少单元格（以上只列出前 10 行）。")
    if short:
        return []
    identity = [[fold(r[c]) if c < len(r) else "" for c in table_layout.identity_columns] for r in rows]
    problems += _compare_rows([[fold(v) for v in r] for r in expected], identity, table_layout, label)
    return rows


def read_form_tables(upload: Upload, form: IssuedForm, spec: FormKindSpec,
                     read: list[ReadTable] | None = None) -> dict[str, list[list[str]]]:
    """The rows (header excluded) of each table the form was issued with, checked against the issued
    rows; ``InvalidInput`` naming every structural change at once. ``read``: the file's tables if they
    were read already (by a worker, issue 29)."""
    expected: dict[str, list[list[str]]] = {}
    for row in form.rows:
        if row[0] in spec.tables:
            expected.setdefault(row[0], []).append(row[1:])
    try:
        read = read if read is not None else read_tables(upload.data)
    except Exception as exc:  # noqa: BLE001 - a broken document.xml is a refusal of this file
        raise InvalidInput(f"无法读取 Word 文件 {upload.name}（{exc.__class__.__name__}）：文件可能已损坏，请重新保存后发送。") from exc
    problems: list[str] = []
    tables = {name: _read_table(read, spec.tables[name], rows, problems) for name, rows in expected.items()}
    if problems:
        raise InvalidInput(f"{upload.name}（{form.form_no}）的表格结构被改动，未录入任何内容：", problems)
    return tables


def content_digest(form: IssuedForm, tables: dict[str, list[list[str]]]) -> str:
    """What the sender wrote, independent of how Word saved it: the form's number and version and every
    cell of its tables (folded, trimmed). Two returns with the same digest say the same thing."""
    cells = {name: [[fold(c).strip() for c in row] for row in rows] for name, rows in sorted(tables.items())}
    payload = json.dumps([form.form_no, form.version, cells], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
