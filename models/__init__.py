"""kaoping's state: SQLModel tables. Alembic migrations in ``migrations/`` follow them."""

from sqlmodel import SQLModel

from models.audit import GENESIS_HASH, AuditEntry
from models.catalog import (
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
from models.signoff import SignoffRequest
from models.visits import Visit
from models.outbox import CalendarOverride, MessageStatus, OutboxMessage
from models.documents import FormKind, IssuedForm, Submission
from models.cycle import Cycle, CyclePlan, CycleSnapshot, CycleStatus
from models.registry import Contact, ContactRole, Unit, UnitAlias, UnitGroup
from models.scoring import (
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
