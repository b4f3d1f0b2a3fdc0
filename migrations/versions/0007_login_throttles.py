"""login throttles: one counter per (username, address) and per address, updated atomically

Revision ID: 0007_login_throttles
Revises: 0002_photos
Create Date: 2026-11-28 18:05:00
"""
from alembic import op
import sqlalchemy as sa

import scoring.types


# revision identifiers, used by Alembic.
revision = '0007_login_throttles'
down_revision = '0002_photos'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttles',
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start', scoring.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles'))
    )


def downgrade():
    op.drop_table('login_throttles')
