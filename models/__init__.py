"""kaoping's state: SQLModel tables, one module per group of tables (named after them).
Alembic migrations in ``migrations/`` follow them."""

from kaoping.models.audit import GENESIS_HASH, AuditEntry
from kaoping.models.calendar import CalendarOverride
from kaoping.models.catalog import (
    Area,
    Catalog,
    Indicator,
    IndicatorGroup,
    IndicatorLead,
    MilestoneKind,
)
from kaoping.models.cycle import (
    Cycle,
    CycleAcceptance,
    CyclePlan,
    CycleResponsibility,
    CycleSnapshot,
    CycleStatus,
    CycleUnit,
)
from kaoping.models.documents import DocNumber
from kaoping.models.forms import FormKind, IssuedForm, Submission
from kaoping.models.mailbox import MailboxMessage
from kaoping.models.objections import (
    Objection,
    ObjectionOpinion,
    ObjectionSource,
    ObjectionStatus,
    ObjectionWindow,
    OpinionStance,
)
from kaoping.models.outbox import SECRET_KINDS, SECRET_MASK, MessageStatus, OutboxBlob, OutboxMessage
from kaoping.models.points import PointsAllocation
from kaoping.models.received import ReceivedFile
from kaoping.models.registry import Contact, ContactRole, Unit, UnitAlias, UnitGroup
from kaoping.models.responsibilities import Responsibility, ResponsibilitySet
from kaoping.models.scores import Component, ComponentScore, LeadScore
from kaoping.models.signoff import SignoffReply, SignoffRequest
from kaoping.models.verification import (
    Adjustment,
    AdjustmentKind,
    ItemVerification,
    VerificationKind,
)
from kaoping.models.visits import Visit, VisitTeamList
from sqlmodel import SQLModel

metadata = SQLModel.metadata

__all__ = [
    "MailboxMessage",
    "Objection",
    "ObjectionOpinion",
    "ObjectionSource",
    "ObjectionStatus",
    "ObjectionWindow",
    "OpinionStance",
    "DocNumber",
    "SignoffRequest",
    "SignoffReply",
    "CyclePlan",
    "CycleAcceptance",
    "Visit",
    "VisitTeamList",
    "CalendarOverride",
    "MessageStatus",
    "OutboxMessage",
    "OutboxBlob",
    "SECRET_KINDS",
    "SECRET_MASK",
    "FormKind",
    "IssuedForm",
    "Submission",
    "Adjustment",
    "AdjustmentKind",
    "Component",
    "ComponentScore",
    "CycleResponsibility",
    "CycleUnit",
    "ItemVerification",
    "LeadScore",
    "PointsAllocation",
    "VerificationKind",
    "GENESIS_HASH",
    "Area",
    "AuditEntry",
    "Catalog",
    "Contact",
    "ContactRole",
    "Cycle",
    "CycleSnapshot",
    "CycleStatus",
    "Indicator",
    "IndicatorGroup",
    "IndicatorLead",
    "MilestoneKind",
    "ReceivedFile",
    "Responsibility",
    "ResponsibilitySet",
    "Unit",
    "UnitAlias",
    "UnitGroup",
    "metadata",
]
