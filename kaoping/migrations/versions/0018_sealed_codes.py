"""a sign-off code waits in the outbox sealed, never in the clear (issue 24)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 09:00:00

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message') as batch:
        batch.add_column(sa.Column('sealed_secret', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('outbox_message') as batch:
        batch.drop_column('sealed_secret')
