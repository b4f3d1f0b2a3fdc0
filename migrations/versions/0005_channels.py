"""channels: group bots (WeCom, DingTalk, Feishu), their outbox and the requests made to them

Revision ID: 0005_channels
Revises: 0003_people
Create Date: 2026-11-28 17:58:25.288419

Written by autogenerate and checked line by line.
"""
from alembic import op
import sqlalchemy as sa

import scoring.types


# revision identifiers, used by Alembic.
revision = '0005_channels'
down_revision = '0003_people'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competition_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=True),
    sa.Column('events_list', sa.String(length=200), nullable=False),
    sa.Column('created_at', scoring.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', scoring.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused_until', scoring.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['competition_id'], ['competitions.id'], name=op.f('fk_channels_competition_id_competitions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channels'))
    )
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channels_competition_id'), ['competition_id'], unique=False)

    op.create_table('channel_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('event_key', sa.String(length=120), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('queued_at', scoring.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', scoring.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=80), nullable=True),
    sa.Column('claimed_at', scoring.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', scoring.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_channel_messages_channel_id_channels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_messages')),
    sa.UniqueConstraint('channel_id', 'event_key', name=op.f('uq_channel_messages_channel_id_event_key'))
    )
    with op.batch_alter_table('channel_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_messages_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index('ix_channel_messages_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('channel_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('at', scoring.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('result', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_channel_attempts_channel_id_channels')),
    sa.ForeignKeyConstraint(['message_id'], ['channel_messages.id'], name=op.f('fk_channel_attempts_message_id_channel_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_attempts'))
    )
    with op.batch_alter_table('channel_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_channel_attempts_channel_at', ['channel_id', 'at'], unique=False)



def downgrade():
    with op.batch_alter_table('channel_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_channel_attempts_channel_at')

    op.drop_table('channel_attempts')
    with op.batch_alter_table('channel_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_channel_messages_due')
        batch_op.drop_index(batch_op.f('ix_channel_messages_channel_id'))

    op.drop_table('channel_messages')
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channels_competition_id'))

    op.drop_table('channels')
