"""The objection form (异议表): the Word form that goes with each unit's provisional 反馈函
(征求意见稿), and reading it back when the unit returns it.

The unit and the cycle are printed on the form and signed into it (the same signed identity as the
other forms, kind ``objection``), so a returned copy is recognised whatever it is called and is
never taken for a self-assessment or a scoring sheet. The unit fills one row per disputed item:
指标序号, 异议内容, 依据; it may add rows. Reading checks everything at once and names each row
to correct; recording the objections is ``kaoping.services.objections.record``'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from kaoping.adapters.uploads import Upload
from kaoping.adapters.word import form_page, layout, writer
from kaoping.adapters.word.identity import (
    FormIdentity,
    rows_digest,
    verify,
    write_identity,
)
from kaoping.adapters.word.package import read_tables
from kaoping.adapters.word.returned import ReturnedFile
from kaoping.domain.clock import chinese_date
from kaoping.domain.errors import InvalidInput, KaopingError
from kaoping.domain.scoring import ranges
from kaoping.domain.text import fold
from kaoping.models import Cycle, CycleUnit
from kaoping.services.cycles.cycle import cycle_label, get_cycle
from kaoping.services.scoring.entry import CycleContext
from kaoping.settings import Settings

KIND = "objection"  # the identity's kind: not a FormKind (nothing is issued or reminded of, no stage waits for it)
CODE = "YY"  # the letters of the visible form number: 2022H1-YY007
LABEL = "异议表"
HEADER = ("序号", "指标序号", "异议内容", "依据（事实、理由和佐证材料）")
BLANK_ROWS = 8
#: Bounds on what a unit may write: a unit undertakes a few dozen indicators; a form with more filled
#: rows is a spreadsheet pasted in, and a cell longer than a few pages is evidence, which goes attached.
MAX_ROWS = 100
MAX_CELL_CHARS = 5000
#: A number that cannot be one indicator's: negative, a decimal, a range (55-60 means six items, not two).
_AMBIGUOUS = re.compile(r"[-−－]\s*\d|\d\s*[.．。]\s*\d|\d\s*[-~～—–至到]\s*\d")
_NUMBER = re.compile(r"\d+")


def form_no(cycle: Cycle, unit: CycleUnit) -> str:
    return f"{cycle.code}-{CODE}{unit.position + 1:03d}"


def _identity(cycle: Cycle, unit: CycleUnit, version: int) -> FormIdentity:
    return FormIdentity(cycle.code, KIND, unit.code, version, form_no(cycle, unit), rows_digest([[cycle.code, unit.code]]))


def file_name(unit: CycleUnit) -> str:
    return f"{unit.code}-{unit.short_name}-{LABEL}.docx"


def build(settings: Settings, cycle: Cycle, unit: CycleUnit, *, closes_on: date, version: int = 1) -> bytes:
    """One unit's objection form, signed (``version``: the round of the objection window)."""
    identity = _identity(cycle, unit, version)
    document = form_page.form_document(landscape=True)
    header = document.sections[0].header.paragraphs[0]
    layout.add_run(header, f"表单编号：{identity.form_no}（第 {version} 版） 请勿删改本表的编号和单位",
                   layout.BODY_FONT, size=layout.SIZE_5)
    title = f"{cycle_label(cycle)}数字政府建设考评初步结果{LABEL}"
    form_page.form_title(document, title)
    form_page.form_line(document, f"提出单位：{unit.name}　　考评周期：{cycle_label(cycle)}　　表单编号：{identity.form_no}"
                               f"　　受理截止：{chinese_date(closes_on)}（含当日）")
    form_page.form_line(document, "填写说明：", bold=True)
    for line in (
        "1. 对初步结果反馈函（征求意见稿）中某项指标的得分有异议的，每项填写一行：“指标序号”填反馈函中的序号（如 19），"
        "“异议内容”写明对哪一项得分有异议、认为应得多少分，“依据”写明事实和理由、列出佐证材料名称。",
        "2. 行数不够可以增加行；没有异议的行留空。请勿修改表头和本表编号，不要合并单元格。",
        f"3. 填好后保存为 Word (.docx) 文件，作为附件回复原邮件（佐证材料可一并附上），截止日期后不再受理。"
        f"只受理你单位在考评对象名录中登记的邮箱发来的异议表。没有异议的，无需回复。",
    ):
        form_page.form_line(document, line, size=layout.SIZE_5)
    rows = [[str(i), "", "", ""] for i in range(1, BLANK_ROWS + 1)]
    layout.table(document, list(HEADER), rows, widths_mm=[14, 26, 115, 106], shaded_columns=(0,))
    write_identity(document, identity, settings.secret_key.get_secret_value().encode("utf-8"))
    document.core_properties.title = title
    document.core_properties.author = settings.office_name
    return writer.docx_bytes(document)


# --------------------------------------------------------------------------- reading it back


@dataclass(frozen=True)
class FormRow:
    row: int  # the table row (the header is row 1)
    numbers: tuple[int, ...]
    disputed: str
    evidence: str


@dataclass
class ReturnedObjectionForm:
    cycle: Cycle
    unit_id: int
    unit_code: str
    unit_name: str
    form_no: str
    version: int


def recognise(session: Session, settings: Settings, returned: ReturnedFile) -> ReturnedObjectionForm:
    """Whose form it is (checked signature): ``InvalidInput`` saying what to do otherwise. The file
    was read once by ``adapters.word.returned.recognise``; only its signature is checked here."""
    upload, identity, signature = returned.upload, returned.identity, returned.signature
    if returned.unreadable:
        raise InvalidInput(returned.unreadable)
    if identity is None or identity.kind != KIND:
        raise InvalidInput(f"文件 {upload.name} 不是考评系统发出的{LABEL}：请在随征求意见稿发出的原{LABEL}上填写后发送。")
    if not any(verify(identity, signature, key) for key in settings.form_keys):
        raise InvalidInput(f"文件 {upload.name} 的表单标识签名无效（标识被改动或伪造，表单编号 {identity.form_no}）："
                           f"请在收到的原{LABEL}上填写，不要修改文件属性。")
    try:
        cycle = get_cycle(session, identity.cycle)
    except KaopingError:
        raise InvalidInput(f"{LABEL} {identity.form_no} 的考评周期 {identity.cycle} 不在本系统中：请使用收到的原{LABEL}。") from None
    ctx = CycleContext(session, cycle)
    unit = next((u for u in ctx.units.values() if u.code == identity.subject), None)
    if unit is None or identity.form_no != form_no(cycle, unit) or identity.rows_digest != rows_digest([[cycle.code, unit.code]]):
        raise InvalidInput(f"{LABEL} {identity.form_no} 的标识与发出记录不一致：请使用收到的原{LABEL}填写。")
    return ReturnedObjectionForm(cycle, unit.unit_id, unit.code, unit.short_name, identity.form_no, identity.version)


def read_rows(session: Session, form: ReturnedObjectionForm, upload: Upload) -> list[FormRow]:
    """The filled rows, every problem named at once (``InvalidInput``): a changed table, a row without
    an indicator number or without what is disputed, an indicator the unit does not undertake, nothing filled."""
    try:
        tables = read_tables(upload.data)
    except Exception as exc:  # a broken document.xml
        raise InvalidInput(f"无法读取 Word 文件 {upload.name}（{exc.__class__.__name__}）：文件可能已损坏，请重新保存后发送。") from exc
    wanted = [fold(h) for h in HEADER[:3]]
    table = next((t for t in tables if t.rows and [fold(c) for c in t.rows[0][:3]] == wanted), None)
    where = f"{upload.name}（{form.form_no}）"
    if table is None:
        raise InvalidInput(f"{where}中找不到异议表格（表头应为：{'、'.join(HEADER)}）：表头被修改或表格被删除。"
                           f"请在收到的原{LABEL}上填写后重新发送。")
    if table.merged:
        raise InvalidInput(f"{where}的表格中有合并的单元格：请在收到的原{LABEL}上填写，不要合并或拆分单元格，然后重新发送。")
    ctx = CycleContext(session, form.cycle)
    undertaken = sorted(n for n, ind in ctx.indicator_by_number.items() if (form.unit_id, ind.id) in ctx.pairs)
    problems: list[str] = []
    rows: list[FormRow] = []
    filled = [(index, [*cells, "", "", "", ""][:4]) for index, cells in enumerate(table.rows[1:], start=2)
              if any(c.strip() for c in cells[1:4])]
    if len(filled) > MAX_ROWS:
        raise InvalidInput(f"{where}填写了 {len(filled)} 行，超过 {MAX_ROWS} 行，未登记任何异议：请每项有异议的指标填写一行"
                           f"（同一指标的内容写在一行），不要把其他表格粘贴进来，然后重新发送。")
    for index, cells in filled:
        long = [HEADER[i] for i in (1, 2, 3) if len(cells[i]) > MAX_CELL_CHARS]
        if long:
            problems.append(f"第 {index} 行“{'”“'.join(long)}”列的文字超过 {MAX_CELL_CHARS} 字：请简要写明，"
                            "详细的说明和佐证材料作为附件随邮件发送。")
            continue
        written, disputed, evidence = fold(cells[1]).strip(), cells[2].strip(), cells[3].strip()
        shown = cells[1].strip()[:20] + ("…" if len(cells[1].strip()) > 20 else "")
        found = _NUMBER.findall(written)
        numbers = tuple(dict.fromkeys(int(n) for n in found if len(n) <= 4))
        if not written:
            problems.append(f"第 {index} 行“指标序号”列未填写：请填写有异议的指标序号（见征求意见稿，如 19）。")
        elif _AMBIGUOUS.search(written) or any(len(n) > 4 for n in found):
            problems.append(f"第 {index} 行“指标序号”列“{shown}”不是指标序号：请填写征求意见稿中的序号（正整数，如 19）；"
                            "几项都有异议的，逐项写出并用顿号分开（如 19、20），或每项填写一行。")
        elif not numbers:
            problems.append(f"第 {index} 行“指标序号”列“{shown}”不是指标序号：请填写数字，如 19。")
        else:
            foreign = [n for n in numbers if n not in undertaken]
            if foreign:
                problems.append(f"第 {index} 行：指标 {'、'.join(map(str, foreign))} 不是{form.unit_name}在本期承担的指标"
                                f"（承担的指标序号为 {ranges(undertaken)}）：请核对指标序号。")
        if not disputed:
            problems.append(f"第 {index} 行“异议内容”列未填写：请写明对该项得分有什么异议、认为应得多少分。")
        rows.append(FormRow(index, numbers, disputed, evidence))
    if problems:
        raise InvalidInput(f"{where}有 {len(problems)} 处需要更正，未登记任何异议：", problems)
    if not rows:
        raise InvalidInput(f"{where}没有填写任何异议：如有异议，请在表中逐行填写指标序号、异议内容和依据后重新发送；"
                           "没有异议的，无需回复。")
    return rows
