"""the office mailbox: every message taken over IMAP, recorded by Message-ID (issue 15, item 1)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 05:20:00

"""

from __future__ import annotations

import kaoping.models.types
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mailbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_key', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.Text(), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('received_at', kaoping.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', kaoping.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('raw_file_id', sa.Integer(), nullable=True),
    sa.Column('raw_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('folder', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('handled_at', kaoping.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('moved_at', kaoping.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['raw_file_id'], ['received_file.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_mailbox_message_message_key'), 'mailbox_message', ['message_key'], unique=True)
    op.create_index(op.f('ix_mailbox_message_status'), 'mailbox_message', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_mailbox_message_status'), table_name='mailbox_message')
    op.drop_index(op.f('ix_mailbox_message_message_key'), table_name='mailbox_message')
    op.drop_table('mailbox_message')
