"""the objection stage (issue 17): a window per cycle after the verification sign-off, and objections

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 05:20:00

"""

from __future__ import annotations

import kaoping.models.types
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('objection_window',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('closes_on', sa.Date(), nullable=False),
    sa.Column('workdays', sa.Integer(), nullable=False),
    sa.Column('letters', sa.Integer(), nullable=False),
    sa.Column('opened_at', kaoping.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opened_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cycle_id')
    )
    op.create_table('objection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('indicator_number', sa.Integer(), nullable=True),
    sa.Column('disputed', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('received_at', kaoping.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('message_id', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('previous_score', kaoping.models.types.ExactDecimal(length=32), nullable=True),
    sa.Column('new_score', kaoping.models.types.ExactDecimal(length=32), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=False),
    sa.Column('decided_at', kaoping.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('verification_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.ForeignKeyConstraint(['verification_id'], ['item_verification.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_objection_cycle_id', 'objection', ['cycle_id'], unique=False)
    op.create_index('ix_objection_unit_id', 'objection', ['unit_id'], unique=False)
    op.create_index('ix_objection_status', 'objection', ['status'], unique=False)
    op.create_index('ix_objection_message_id', 'objection', ['message_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_objection_message_id', table_name='objection')
    op.drop_index('ix_objection_status', table_name='objection')
    op.drop_index('ix_objection_unit_id', table_name='objection')
    op.drop_index('ix_objection_cycle_id', table_name='objection')
    op.drop_table('objection')
    op.drop_table('objection_window')
