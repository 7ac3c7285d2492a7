"""objections by form, the lead assessor's opinion by reply, a new round after a send-back (issue 17)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 09:00:00

"""

from __future__ import annotations

import kaoping.models.types
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('objection_opinion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('objection_id', sa.Integer(), nullable=False),
    sa.Column('lead_unit_id', sa.Integer(), nullable=False),
    sa.Column('stance', sa.String(length=16), nullable=False),
    sa.Column('score', kaoping.models.types.ExactDecimal(length=32), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('message_id', sa.String(length=300), nullable=False),
    sa.Column('received_at', kaoping.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_file_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['objection_id'], ['objection.id'], ),
    sa.ForeignKeyConstraint(['lead_unit_id'], ['unit.id'], ),
    sa.ForeignKeyConstraint(['received_file_id'], ['received_file.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_objection_opinion_objection_id'), 'objection_opinion', ['objection_id'], unique=False)
    op.create_index(op.f('ix_objection_opinion_message_id'), 'objection_opinion', ['message_id'], unique=False)
    with op.batch_alter_table('objection_window') as batch:
        batch.add_column(sa.Column('round', sa.Integer(), nullable=False, server_default='1'))
        batch.add_column(sa.Column('results_digest', sa.String(length=64), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('objection_window') as batch:
        batch.drop_column('results_digest')
        batch.drop_column('round')
    op.drop_index(op.f('ix_objection_opinion_message_id'), table_name='objection_opinion')
    op.drop_index(op.f('ix_objection_opinion_objection_id'), table_name='objection_opinion')
    op.drop_table('objection_opinion')
