"""the 发文字号 register

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 03:00:00
"""

from __future__ import annotations

import kaoping.models.types  # noqa: F401
import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('doc_number',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('document', sa.String(length=96), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('cycle_code', sa.String(length=16), nullable=False),
    sa.Column('issued_at', kaoping.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('document'),
    sa.UniqueConstraint('prefix', 'year', 'serial')
    )
    with op.batch_alter_table('doc_number', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_doc_number_cycle_code'), ['cycle_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('doc_number', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_doc_number_cycle_code'))
    op.drop_table('doc_number')
