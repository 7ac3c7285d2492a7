"""The shipped unit registry as the services read it (kaoping/services/reference/registry.py): the groups,
every spelling of a unit resolving to it, its contacts. (Importing one: tests/cli/test_units_import.py.)"""

from __future__ import annotations

from kaoping.models import Contact, Unit
from sqlmodel import select

from kaoping import db
from kaoping.services.reference.registry import UnitDirectory


def test_shipped_registry(initialized_db, settings):
    with db.session_scope(settings) as session:
        units = session.exec(select(Unit)).all()
        directory = UnitDirectory.load(session)
        assert len([u for u in units if u.group == "district"]) == 10
        assert {u.code for u in units if u.group == "district"} >= {"150202", "150221", "150223"}
        # The source's other spellings resolve to one unit.
        assert directory.resolve("审批服务局").short_name == "市审批服务局"
        assert directory.resolve("市文旅局").id == directory.resolve("市文旅广电局").id
        assert directory.resolve("达茂旗").short_name == "达尔罕茂明安联合旗"
        assert directory.resolve(" 东河区 ").code == "150202"
        assert directory.resolve("１５０２０２").code == "150202"  # full-width digits
        contacts = session.exec(select(Contact)).all()
        assert len(contacts) == 2 * len(units)
        assert all(c.email.endswith(".baotou.example") for c in contacts)
