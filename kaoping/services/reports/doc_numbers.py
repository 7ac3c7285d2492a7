"""The 发文字号 register (发文登记): previews carry no number; publishing takes the next free
number for a 代字 and year, or the one the office gives, and never gives a number twice.

A document is named by a key (``tongbao:2022H1``, ``fankui:2022H1:150202``); publishing the same
document again (a re-run after a crash, a re-print) keeps the number it was given.
"""

from __future__ import annotations

from sqlmodel import Session, func, select

from kaoping.domain.errors import Conflict, InvalidInput
from kaoping.models import DocNumber


def number_text(prefix: str, year: int, serial: int) -> str:
    return f"{prefix}〔{year}〕{serial}号"


def issued(session: Session, document: str) -> DocNumber | None:
    return session.exec(select(DocNumber).where(DocNumber.document == document)).first()


def take(session: Session, *, prefix: str, year: int, document: str, title: str = "", cycle_code: str = "",
         serial: int | None = None, actor: str) -> DocNumber:
    """The number of ``document``: the one it already has, else ``serial`` if free, else the next free one."""
    existing = issued(session, document)
    if existing is not None:
        if serial is not None and (existing.prefix, existing.year, existing.serial) != (prefix, year, serial):
            raise Conflict(f"《{existing.title or document}》已于此前印发，发文字号为{existing.text}，不能改为"
                           f"{number_text(prefix, year, serial)}。")
        return existing
    if serial is not None:
        if serial < 1:
            raise InvalidInput(f"发文字号的序号须为正整数（收到 {serial}）。")
        used = session.exec(select(DocNumber).where(DocNumber.prefix == prefix, DocNumber.year == year,
                                                    DocNumber.serial == serial)).first()
        if used is not None:
            raise Conflict(f"发文字号{used.text}已用于《{used.title or used.document}》，不能重复使用；"
                           f"请核对发文登记（kaoping status）后另行编号。")
    else:
        last = session.exec(select(func.max(DocNumber.serial)).where(DocNumber.prefix == prefix,
                                                                     DocNumber.year == year)).one()
        serial = (last or 0) + 1
    entry = DocNumber(prefix=prefix, year=year, serial=serial, document=document, title=title, cycle_code=cycle_code,
                      issued_by=actor)
    session.add(entry)
    session.flush()
    return entry


def register(session: Session, *, cycle_code: str | None = None, year: int | None = None) -> list[DocNumber]:
    """The issued numbers (of one cycle, or of one year), in the order they were given."""
    query = select(DocNumber)
    if cycle_code is not None:
        query = query.where(DocNumber.cycle_code == cycle_code)
    if year is not None:
        query = query.where(DocNumber.year == year)
    return list(session.exec(query.order_by(DocNumber.prefix, DocNumber.year, DocNumber.serial)))


def take_many(session: Session, *, prefix: str, year: int, documents: list[tuple[str, str]], cycle_code: str = "",
              actor: str) -> dict[str, DocNumber]:
    """The numbers of many documents at once (``documents``: (key, title) in the order they are numbered):
    those already numbered keep theirs, the others take the next free serials in order — one read of
    what is there, one insert of what is new, instead of three statements a document."""
    keys = [key for key, _ in documents]
    have = {n.document: n for n in session.exec(select(DocNumber).where(DocNumber.document.in_(keys)))} if keys else {}
    new = [(key, title) for key, title in documents if key not in have]
    if new:
        last = session.exec(select(func.max(DocNumber.serial)).where(DocNumber.prefix == prefix,
                                                                     DocNumber.year == year)).one() or 0
        entries = [DocNumber(prefix=prefix, year=year, serial=last + i, document=key, title=title, cycle_code=cycle_code,
                             issued_by=actor) for i, (key, title) in enumerate(new, start=1)]
        session.add_all(entries)
        session.flush()
        have.update((e.document, e) for e in entries)
    return have
