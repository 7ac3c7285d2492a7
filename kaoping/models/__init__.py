"""kaoping's state: SQLModel tables. Alembic migrations in ``migrations/`` follow them."""

from sqlmodel import SQLModel

from kaoping.models.audit import GENESIS_HASH, AuditEntry
from kaoping.models.catalog import (
    Area,
    Catalog,
    Indicator,
    IndicatorGroup,
    IndicatorLead,
    MilestoneKind,
    ReceivedFile,
    Responsibility,
    ResponsibilitySet,
)
from kaoping.models.cycle import Cycle, CyclePlan, CycleSnapshot, CycleStatus
from kaoping.models.documents import FormKind, IssuedForm, Submission
from kaoping.models.outbox import CalendarOverride, MessageStatus, OutboxMessage
from kaoping.models.registry import Contact, ContactRole, Unit, UnitAlias, UnitGroup
from kaoping.models.scoring import (
    Adjustment,
    AdjustmentKind,
    Component,
    ComponentScore,
    CycleResponsibility,
    CycleUnit,
    ItemVerification,
    LeadScore,
    PointsAllocation,
    VerificationKind,
)
from kaoping.models.signoff import SignoffRequest
from kaoping.models.visits import Visit

metadata = SQLModel.metadata

__all__ = [
    "SignoffRequest",
    "CyclePlan",
    "Visit",
    "CalendarOverride",
    "MessageStatus",
    "OutboxMessage",
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
