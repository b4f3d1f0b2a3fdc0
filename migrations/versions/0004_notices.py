"""notices: rectification notices (整改通知单), their steps and photos, the per-month counter of their
numbers, an entry's rectify_by, a competition's overdue_penalty

Revision ID: 0004_notices
Revises: 0005_channels
Create Date: 2026-11-28 18:05:55.650757

Written by autogenerate and checked; batch mode for the ALTERs (SQLite).
"""
from alembic import op
import sqlalchemy as sa

import scoring.types


# revision identifiers, used by Alembic.
revision = '0004_notices'
down_revision = '0005_channels'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notice_counters',
    sa.Column('competition_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['competition_id'], ['competitions.id'], name=op.f('fk_notice_counters_competition_id_competitions')),
    sa.PrimaryKeyConstraint('competition_id', 'month', name=op.f('pk_notice_counters'))
    )
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competition_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=False),
    sa.Column('rectify_by', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('issued_at', scoring.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', scoring.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('overdue_at', scoring.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['competition_id'], ['competitions.id'], name=op.f('fk_notices_competition_id_competitions')),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_notices_entry_id_entries')),
    sa.ForeignKeyConstraint(['section_id'], ['sections.id'], name=op.f('fk_notices_section_id_sections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('competition_id', 'number', name=op.f('uq_notices_competition_id_number')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_notices_entry_id'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index('ix_notices_competition_status', ['competition_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_section_id'), ['section_id'], unique=False)

    op.create_table('notice_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', scoring.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('client_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_notice_steps_actor_id_users')),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_steps_notice_id_notices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_steps')),
    sa.UniqueConstraint('notice_id', 'client_id', name=op.f('uq_notice_steps_notice_id_client_id'))
    )
    with op.batch_alter_table('notice_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_steps_notice_id'), ['notice_id'], unique=False)

    op.create_table('notice_step_photos',
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('competition_id', sa.Integer(), nullable=False),
    sa.Column('photo_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['competition_id', 'photo_id'], ['photos.competition_id', 'photos.sha256'], name=op.f('fk_notice_step_photos_competition_id_photos')),
    sa.ForeignKeyConstraint(['step_id'], ['notice_steps.id'], name=op.f('fk_notice_step_photos_step_id_notice_steps')),
    sa.PrimaryKeyConstraint('step_id', 'position', name=op.f('pk_notice_step_photos'))
    )
    with op.batch_alter_table('competitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overdue_penalty', scoring.types.Points(precision=12, scale=2), server_default='0', nullable=False))

    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rectify_by', sa.Date(), nullable=True))



def downgrade():
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_column('rectify_by')

    with op.batch_alter_table('competitions', schema=None) as batch_op:
        batch_op.drop_column('overdue_penalty')

    op.drop_table('notice_step_photos')
    with op.batch_alter_table('notice_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_steps_notice_id'))

    op.drop_table('notice_steps')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_section_id'))
        batch_op.drop_index('ix_notices_competition_status')

    op.drop_table('notices')
    op.drop_table('notice_counters')
