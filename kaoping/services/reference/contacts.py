"""A unit's email addresses by role (联络员, 负责人): who forms, reminders and reports go to."""

from __future__ import annotations

from sqlmodel import Session, select

from kaoping.models import Contact, ContactRole


def unit_contacts(session: Session, unit_id: int, role: ContactRole = ContactRole.liaison) -> list[str]:
    return list(session.exec(select(Contact.email).where(Contact.unit_id == unit_id, Contact.role == role)))
