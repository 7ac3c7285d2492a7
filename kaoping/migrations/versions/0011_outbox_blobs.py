"""outbox attachments in the database, by content hash (issue 14, item 2); the audit anchor of a message (item 5)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 03:00:00

"""

from __future__ import annotations

import kaoping.models.types
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox_blob',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', kaoping.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    with op.batch_alter_table('outbox_message') as batch:
        batch.add_column(sa.Column('audit_anchor', sa.String(length=100), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('outbox_message') as batch:
        batch.drop_column('audit_anchor')
    op.drop_table('outbox_blob')
