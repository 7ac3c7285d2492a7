"""Who should undertake an indicator, as its text suggests (承担建议).

The default rule (every district undertakes every indicator, a department the ones it leads)
decides 实绩考核 outcomes, so the team should confirm it. This reads each indicator's text for
the units it names: where the text names particular districts ("交由达茂旗牵头落实"), only those
districts are proposed; otherwise every district; departments are proposed for the items they
lead and the items whose text names them. Each proposal says why, for the team to review.
"""

from __future__ import annotations

from dataclasses import dataclass

from kaoping.domain.text import name_key


@dataclass(frozen=True)
class UnitNames:
    unit_id: int
    short_name: str
    group: str  # district | department
    names: tuple[str, ...]  # full name, short name, aliases


@dataclass(frozen=True)
class ItemText:
    number: int
    text: str
    leads: tuple[int, ...]


@dataclass(frozen=True)
class Suggestion:
    unit_id: int
    number: int
    why: str


def named_in(text: str, units: list[UnitNames]) -> list[UnitNames]:
    """Units the text names (by any of their names of two characters or more)."""
    haystack = name_key(text)
    return [u for u in units if any(len(n) >= 2 and name_key(n) in haystack for n in u.names)]


def suggest(items: list[ItemText], units: list[UnitNames]) -> list[Suggestion]:
    districts = [u for u in units if u.group == "district"]
    departments = {u.unit_id: u for u in units if u.group == "department"}
    out: list[Suggestion] = []
    for item in sorted(items, key=lambda i: i.number):
        named = named_in(item.text, units)
        named_districts = [u for u in named if u.group == "district"]
        if named_districts:
            names = "、".join(u.short_name for u in named_districts)
            out += [Suggestion(u.unit_id, item.number, f"指标文字点名{names}") for u in named_districts]
        else:
            out += [Suggestion(u.unit_id, item.number, "各旗县区（指标文字未点名具体旗县区）") for u in districts]
        proposed = set()
        for lead in item.leads:
            if lead in departments:
                out.append(Suggestion(lead, item.number, "牵头考核单位"))
                proposed.add(lead)
        for u in named:
            if u.group == "department" and u.unit_id not in proposed:
                out.append(Suggestion(u.unit_id, item.number, "指标文字点名"))
                proposed.add(u.unit_id)
    return out
