"""month editions: close policy per competition, an edition per close (and its approval), deliveries per edition,
entries that correct another

Revision ID: 0006_month_editions
Revises: 0004_notices
Create Date: 2026-11-28 18:20:00

Existing competitions keep the close policy the service ran with (AUTO_CLOSE_DAY / AUTO_CLOSE_TIME; day 0:
closed by hand) and no approval step. Existing closes are numbered 1, 2, … per month; existing deliveries
belong to edition 1. Display tokens stop expiring (CONTRACT.md §2: a wall is revoked by hand).
"""
from alembic import op
import sqlalchemy as sa

import scoring.types


# revision identifiers, used by Alembic.
revision = '0006_month_editions'
down_revision = '0004_notices'
branch_labels = None
depends_on = None


def _policy() -> tuple[int | None, str | None]:
    try:
        from flask import current_app
        day, time = current_app.config["AUTO_CLOSE_DAY"], current_app.config["AUTO_CLOSE_TIME"]
    except (RuntimeError, KeyError):  # outside the app: the service's defaults
        day, time = 3, "00:30"
    return (day, time) if day else (None, None)


def upgrade():
    with op.batch_alter_table('competitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto_close_day', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('auto_close_time', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('report_approval', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('archived_at', scoring.types.UTCDateTime(timezone=True), nullable=True))
    day, time = _policy()
    if day:
        op.execute(sa.text("UPDATE competitions SET auto_close_day = :day, auto_close_time = :time")
                   .bindparams(day=day, time=time))

    with op.batch_alter_table('period_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edition', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approved_at', scoring.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('approved_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_period_events_approved_by_id_users'), 'users',
                                    ['approved_by_id'], ['id'])
    op.execute(sa.text(
        "UPDATE period_events SET edition = (SELECT count(*) FROM period_events AS earlier "
        "WHERE earlier.period_id = period_events.period_id AND earlier.action = 'close' "
        "AND earlier.id <= period_events.id) WHERE action = 'close'"))

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edition', sa.Integer(), nullable=False, server_default='1'))
        batch_op.drop_constraint('uq_deliveries_competition_id_period_recipient_id', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_deliveries_competition_id_period_edition_recipient_id'),
                                          ['competition_id', 'period', 'edition', 'recipient_id'])

    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrects_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('corrector_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_entries_corrects_id'), ['corrects_id'])
        batch_op.create_foreign_key(batch_op.f('fk_entries_corrects_id_entries'), 'entries', ['corrects_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_entries_corrector_id_users'), 'users', ['corrector_id'], ['id'])

    op.execute(sa.text("UPDATE api_tokens SET expires_at = NULL WHERE revoked_at IS NULL AND user_id IN "
                       "(SELECT id FROM users WHERE role = 'display')"))


def downgrade():
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_entries_corrector_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_entries_corrects_id_entries'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_entries_corrects_id'), type_='unique')
        batch_op.drop_column('corrector_id')
        batch_op.drop_column('corrects_id')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_deliveries_competition_id_period_edition_recipient_id'),
                                 type_='unique')
        batch_op.create_unique_constraint('uq_deliveries_competition_id_period_recipient_id',
                                          ['competition_id', 'period', 'recipient_id'])
        batch_op.drop_column('edition')
    with op.batch_alter_table('period_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_period_events_approved_by_id_users'), type_='foreignkey')
        batch_op.drop_column('approved_by_id')
        batch_op.drop_column('approved_at')
        batch_op.drop_column('edition')
    with op.batch_alter_table('competitions', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
        batch_op.drop_column('report_approval')
        batch_op.drop_column('auto_close_time')
        batch_op.drop_column('auto_close_day')
