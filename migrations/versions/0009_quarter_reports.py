"""quarter reports: mailed when a competition asks for it (quarter_reports, quarter_editions); the duplicate
veto and duplicate recipient checks backed by partial unique indexes

Revision ID: 0009_quarter_reports
Revises: 0008_general_bonus
Create Date: 2026-11-28 21:40:00

Existing competitions do not mail quarter reports (quarter_reports false). Vetoes get `revoked_at`, copied
from their revocation, so that "one active veto per subject and month" can be a partial unique index. Data
the old code let through is made to fit first, and stays on record: a later duplicate active veto is
revoked (by its own author, with a reason saying why), a later duplicate active recipient is removed.
"""
from alembic import op
import sqlalchemy as sa

import scoring.types


# revision identifiers, used by Alembic.
revision = '0009_quarter_reports'
down_revision = '0008_general_bonus'
branch_labels = None
depends_on = None

DUPLICATE_VETO = "重复的一票否决：已有同一对象同月的否决在先（迁移 0009_quarter_reports 撤销）"


def upgrade():
    # Not in a batch: on SQLite a batch with a SQL default copies the table, which its rows' children refuse.
    op.add_column('competitions', sa.Column('quarter_reports', sa.Boolean(), nullable=False,
                                            server_default=sa.false()))

    op.create_table('quarter_editions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competition_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('edition', sa.Integer(), nullable=False),
    sa.Column('first_month', sa.String(length=7), nullable=False),
    sa.Column('last_month', sa.String(length=7), nullable=False),
    sa.Column('months', sa.JSON(), nullable=False),
    sa.Column('last_event_id', sa.Integer(), nullable=False),
    sa.Column('sections', sa.JSON(), nullable=False),
    sa.Column('teams', sa.JSON(), nullable=False),
    sa.Column('made_at', scoring.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['competition_id'], ['competitions.id'],
                            name=op.f('fk_quarter_editions_competition_id_competitions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarter_editions')),
    sa.UniqueConstraint('competition_id', 'period', 'edition',
                        name=op.f('uq_quarter_editions_competition_id_period_edition'))
    )

    with op.batch_alter_table('vetoes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', scoring.types.UTCDateTime(timezone=True), nullable=True))
    op.execute(sa.text("UPDATE vetoes SET revoked_at = (SELECT revoked_at FROM veto_revocations "
                       "WHERE veto_revocations.veto_id = vetoes.id)"))
    # A later active veto of the same subject and month as an earlier active one: revoked, on record.
    later = ("SELECT v.id, v.created_by_id FROM vetoes AS v WHERE v.revoked_at IS NULL AND EXISTS ("
             "SELECT 1 FROM vetoes AS e WHERE e.revoked_at IS NULL AND e.id < v.id "
             "AND e.competition_id = v.competition_id AND e.section_id = v.section_id AND e.period = v.period "
             "AND (e.team_id = v.team_id OR (e.team_id IS NULL AND v.team_id IS NULL)))")
    connection = op.get_bind()
    revoke = sa.text("INSERT INTO veto_revocations (veto_id, reason, revoked_by_id, revoked_at) "
                     "VALUES (:veto, :reason, :author, :now)").bindparams(
        sa.bindparam("now", type_=scoring.types.UTCDateTime(timezone=True)))
    mark = sa.text("UPDATE vetoes SET revoked_at = (SELECT revoked_at FROM veto_revocations "
                   "WHERE veto_id = :veto) WHERE id = :veto")
    for veto_id, author in connection.execute(sa.text(later)).all():
        connection.execute(revoke, {"veto": veto_id, "reason": DUPLICATE_VETO, "author": author, "now": _utcnow()})
        connection.execute(mark, {"veto": veto_id})
    op.create_index('uq_vetoes_active_section', 'vetoes', ['competition_id', 'section_id', 'period'], unique=True,
                    postgresql_where=sa.text('team_id IS NULL AND revoked_at IS NULL'),
                    sqlite_where=sa.text('team_id IS NULL AND revoked_at IS NULL'))
    op.create_index('uq_vetoes_active_team', 'vetoes', ['competition_id', 'team_id', 'period'], unique=True,
                    postgresql_where=sa.text('team_id IS NOT NULL AND revoked_at IS NULL'),
                    sqlite_where=sa.text('team_id IS NOT NULL AND revoked_at IS NULL'))

    # A later active recipient with the address of an earlier active one (any case): removed, on record.
    op.execute(sa.text(
        "UPDATE recipients SET removed_at = created_at WHERE removed_at IS NULL AND EXISTS ("
        "SELECT 1 FROM recipients AS e WHERE e.removed_at IS NULL AND e.id < recipients.id "
        "AND e.competition_id = recipients.competition_id AND lower(e.email) = lower(recipients.email))"))
    op.create_index('uq_recipients_active_email', 'recipients', ['competition_id', sa.text('lower(email)')],
                    unique=True, postgresql_where=sa.text('removed_at IS NULL'),
                    sqlite_where=sa.text('removed_at IS NULL'))


def _utcnow():
    from datetime import UTC, datetime
    return datetime.now(UTC)


def downgrade():
    op.drop_index('uq_recipients_active_email', table_name='recipients')
    op.drop_index('uq_vetoes_active_team', table_name='vetoes')
    op.drop_index('uq_vetoes_active_section', table_name='vetoes')
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a batch: copying a table its rows' children refer to fails.
    op.drop_column('vetoes', 'revoked_at')
    op.drop_table('quarter_editions')
    op.drop_column('competitions', 'quarter_reports')
