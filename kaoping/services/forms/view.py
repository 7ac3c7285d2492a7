"""What the forms need of a cycle, read once (shared by every kind's ``specs`` and ``render``)."""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import Session, select

from kaoping.domain.scoring import points_text
from kaoping.models import Area, Cycle, IndicatorGroup, Submission
from kaoping.services.scoring.entry import CycleContext


class CycleView(CycleContext):
    """What the forms need of a cycle, read once: the score-entry context (units, indicators,
    leads, responsibilities, points in force) plus groups, areas and the self-assessments."""

    def __init__(self, session: Session, cycle: Cycle):
        super().__init__(session, cycle)
        self.indicators = self.indicator_by_id
        self.undertaken: dict[int, list[int]] = defaultdict(list)
        self.responsible: dict[int, list[int]] = defaultdict(list)
        for unit_id, indicator_id in sorted(self.pairs):
            self.undertaken[unit_id].append(indicator_id)
            self.responsible[indicator_id].append(unit_id)
        self.groups = {g.code: g for g in session.exec(select(IndicatorGroup).where(IndicatorGroup.catalog_id == cycle.catalog_id))}
        self.areas = {a.code: a for a in session.exec(select(Area).where(Area.catalog_id == cycle.catalog_id))}
        self.names = {unit_id: u.short_name for unit_id, u in self.directory.units.items()}
        self.names.update({u.unit_id: u.short_name for u in self.units.values()})
        self.submissions = {
            s.unit_id: s for s in session.exec(select(Submission).where(Submission.cycle_id == cycle.id, Submission.current))
        }

    def container_label(self, container: str) -> str:
        if "." in container:
            g = self.groups[container]
            area = next(a for a in self.areas.values() if a.id == g.area_id)
            return f"{area.numeral}({g.numeral}){g.name}"
        a = self.areas[container]
        return f"{a.numeral}、{a.name}"

    def container_points(self, container: str) -> str:
        members = [p for p in self.points.values() if p.container == container]
        return points_text(sum(p.points for p in members))

    def points_text(self, indicator_id: int) -> str:
        """Points as printed: exact where they terminate (0.625), else 4 places (0.6667 — which,
        written as a score, is full marks)."""
        p = self.points[indicator_id]
        suffix = {"given": "", "allocated": "（已明确）", "default": "（默认）"}[p.basis]
        return f"{points_text(p.points)}{suffix}"

    def self_assessment_of(self, unit_id: int, number: int) -> tuple[str, str]:
        submission = self.submissions.get(unit_id)
        if submission is None:
            return "（未报送自评）", ""
        for row in submission.rows:
            if row["number"] == number:
                return row.get("situation", ""), row.get("progress", "")
        return "", ""
