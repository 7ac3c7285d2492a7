"""sign-off by email reply (issue 15, item 2): the replies received, kaoping's answers as replies

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 05:20:00

"""

from __future__ import annotations

import kaoping.models.types
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('signoff_reply',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=998), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('received_at', kaoping.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', kaoping.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cycle_code', sa.String(length=8), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('matched_by', sa.String(length=16), nullable=False),
    sa.Column('fate', sa.String(length=16), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('own_text', sa.Text(), nullable=False),
    sa.Column('answer_message_id', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['signoff_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    op.create_index(op.f('ix_signoff_reply_recorded_at'), 'signoff_reply', ['recorded_at'], unique=False)
    with op.batch_alter_table('outbox_message') as batch:
        batch.add_column(sa.Column('in_reply_to', sa.String(length=998), nullable=False, server_default=''))
        batch.add_column(sa.Column('reference_ids', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('outbox_message') as batch:
        batch.drop_column('reference_ids')
        batch.drop_column('in_reply_to')
    op.drop_index(op.f('ix_signoff_reply_recorded_at'), table_name='signoff_reply')
    op.drop_table('signoff_reply')
