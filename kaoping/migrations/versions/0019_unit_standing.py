"""the order of the measures (issue 27): a visit window before the returns states its reason

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 10:30:00

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cycle_plan') as batch:
        batch.add_column(sa.Column('visit_early_reason', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('cycle_plan') as batch:
        batch.drop_column('visit_early_reason')
