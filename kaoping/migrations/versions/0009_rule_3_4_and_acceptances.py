"""rule 三(四) by every co-lead or the team; defaults accepted explicitly per cycle

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 02:30:00
"""

from __future__ import annotations

import kaoping.models.types  # noqa: F401
import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cycle_acceptance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('accepted_by', sa.String(length=64), nullable=False),
    sa.Column('accepted_at', kaoping.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cycle_id', 'subject')
    )
    with op.batch_alter_table('cycle_acceptance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cycle_acceptance_cycle_id'), ['cycle_id'], unique=False)

    with op.batch_alter_table('points_allocation', schema=None) as batch_op:
        batch_op.drop_index('uq_points_allocation_current', sqlite_where=sa.text('current'), postgresql_where=sa.text('current'))
        batch_op.alter_column('lead_unit_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index('uq_points_allocation_current', ['cycle_id', 'indicator_id', 'lead_unit_id'], unique=True,
                              sqlite_where=sa.text('current'), postgresql_where=sa.text('current'))


def downgrade() -> None:
    with op.batch_alter_table('points_allocation', schema=None) as batch_op:
        batch_op.drop_index('uq_points_allocation_current', sqlite_where=sa.text('current'), postgresql_where=sa.text('current'))
        batch_op.alter_column('lead_unit_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index('uq_points_allocation_current', ['cycle_id', 'indicator_id'], unique=True,
                              sqlite_where=sa.text('current'), postgresql_where=sa.text('current'))
    with op.batch_alter_table('cycle_acceptance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cycle_acceptance_cycle_id'))
    op.drop_table('cycle_acceptance')
