"""the order of the measures (issue 27): a visit window before the returns states its reason; the
registry says per unit whether it is ranked, listed or not assessed, frozen per cycle

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
    for table in ('unit', 'cycle_unit'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('standing', sa.String(length=16), nullable=False, server_default='ranked'))


def downgrade() -> None:
    for table in ('cycle_unit', 'unit'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('standing')
    with op.batch_alter_table('cycle_plan') as batch:
        batch.drop_column('visit_early_reason')
