"""month revisions: a counter per (competition, month) bumped with every change of the month's tallies

Revision ID: 0010_month_revisions
Revises: 0009_quarter_reports
Create Date: 2026-11-28 22:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_month_revisions'
down_revision = '0009_quarter_reports'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('month_revisions',
    sa.Column('competition_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['competition_id'], ['competitions.id'],
                            name=op.f('fk_month_revisions_competition_id_competitions')),
    sa.PrimaryKeyConstraint('competition_id', 'period', name=op.f('pk_month_revisions'))
    )
    # Every month that has tallies already gets its counter (the cache keys on it; a month without one
    # is simply not cached until its next change).
    op.execute("INSERT INTO month_revisions (competition_id, period, revision) "
               "SELECT DISTINCT competition_id, period, 1 FROM subject_tallies")


def downgrade():
    op.drop_table('month_revisions')
