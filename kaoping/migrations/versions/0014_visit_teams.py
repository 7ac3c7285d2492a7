"""field-visit teams stored in the database (issue 16): the imported list, and the teams a cycle's plan uses

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 05:30:00

"""

from __future__ import annotations

import kaoping.models.types
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('visit_team_list',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('source_name', sa.String(length=255), nullable=False),
    sa.Column('imported_at', kaoping.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version')
    )
    with op.batch_alter_table('cycle_plan') as batch:
        batch.add_column(sa.Column('teams', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cycle_plan') as batch:
        batch.drop_column('teams')
    op.drop_table('visit_team_list')
