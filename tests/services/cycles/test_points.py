"""The points in force of a cycle's open items (kaoping/services/cycles/points.py, rule 三(四)), on SQLite and
PostgreSQL: what the lead assessors allocated (kaoping/services/scoring/entry.py) or the default split.
(Allocations given and refused through `kaoping points set`: tests/cli/test_rules.py.)"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from kaoping import db
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.cycles.points import allocation_problems, points_in_force
from kaoping.services.reference.registry import UnitDirectory
from kaoping.services.scoring.entry import allocate_points
from tests.factories import open_cycle


def test_co_leads_allocate_together(initialized_db, settings):
    """Group (二) items 3 and 4 are co-led by 市政府办公室 and 市公安局: the points are in force
    once both gave the same allocation; until then the default split applies, and check says why."""
    open_cycle(settings)
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        allocate_points(session, cycle, lead_written="市政府办公室", actor="test", points={3: Decimal("0.8"), 4: Decimal("1.2")})
        basis = {p.number: p.basis for p in points_in_force(session, cycle).values()}
        assert basis[3] == basis[4] == "default"
        assert any("尚待 市公安局 明确分值" in p for p in allocation_problems(session, cycle, {i: u.short_name for i, u in UnitDirectory.load(session).units.items()}))
        allocate_points(session, cycle, lead_written="市公安局", actor="test", points={3: Decimal(1), 4: Decimal(1)})
        assert any("分值明确不一致" in p for p in allocation_problems(session, cycle))
        assert {p.number: p.basis for p in points_in_force(session, cycle).values()}[3] == "default"
        allocate_points(session, cycle, lead_written="市公安局", actor="test", points={3: Decimal("0.8"), 4: Decimal("1.2")})
        assert allocation_problems(session, cycle) == []
        in_force = {p.number: (p.points, p.basis) for p in points_in_force(session, cycle).values() if p.number in (3, 4)}
        assert in_force == {3: (Fraction(4, 5), "allocated"), 4: (Fraction(6, 5), "allocated")}
