"""cycle plan; sign-off answers asked through the cycle flow

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 20:00:00
"""

from __future__ import annotations

import kaoping.models.types  # noqa: F401
import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cycle_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('self_assessment_deadline', sa.Date(), nullable=False),
    sa.Column('scoring_workdays', sa.Integer(), nullable=False),
    sa.Column('scoring_deadline', sa.Date(), nullable=True),
    sa.Column('results_deadline', sa.Date(), nullable=False),
    sa.Column('visit_start', sa.Date(), nullable=False),
    sa.Column('visit_end', sa.Date(), nullable=False),
    sa.Column('teams_file', sa.String(length=500), nullable=False),
    sa.Column('created_at', kaoping.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cycle_id')
    )
    with op.batch_alter_table('signoff_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answers', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_message', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('flow_run_id', sa.String(length=36), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('signoff_request', schema=None) as batch_op:
        batch_op.drop_column('flow_run_id')
        batch_op.drop_column('last_message')
        batch_op.drop_column('answers')
    op.drop_table('cycle_plan')
