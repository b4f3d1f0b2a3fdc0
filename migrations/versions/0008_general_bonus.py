"""general bonus: a competition's general_bonus_cap; an entry's criterion may be left out (a bonus tied to no
criterion, 上级表彰 …; CONTRACT.md §3 Entries, §4)

Revision ID: 0008_general_bonus
Revises: 0006_month_editions
Create Date: 2026-11-28 21:30:00

Existing competitions get cap 0 (no general bonus: every entry names its criterion, as before). The running
tallies need nothing: a general bonus is summed under criterion ''.
"""
from alembic import op
import sqlalchemy as sa

import scoring.types


# revision identifiers, used by Alembic.
revision = '0008_general_bonus'
down_revision = '0006_month_editions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('competitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('general_bonus_cap', scoring.types.Points(precision=12, scale=2),
                                      server_default='0', nullable=False))
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.alter_column('criterion', existing_type=sa.String(length=20), nullable=True)


def downgrade():
    # A general bonus has no criterion to go back to: such entries must be voided and removed by hand first.
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.alter_column('criterion', existing_type=sa.String(length=20), nullable=False)
    with op.batch_alter_table('competitions', schema=None) as batch_op:
        batch_op.drop_column('general_bonus_cap')
