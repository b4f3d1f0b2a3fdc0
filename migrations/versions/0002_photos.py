"""photos: uploaded photos, their bytes (the database store), the photos of an entry, its chainage

Revision ID: 0002_photos
Revises: 0001
Create Date: 2026-11-28 14:28:15.948229

Written by autogenerate and checked line by line; batch mode for the ALTER (SQLite).
"""
from alembic import op
import sqlalchemy as sa

import scoring.types


# revision identifiers, used by Alembic.
revision = '0002_photos'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('photo_files',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.String(length=5), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', 'size', name=op.f('pk_photo_files'))
    )
    op.create_table('photos',
    sa.Column('competition_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('byte_count', sa.Integer(), nullable=False),
    sa.Column('taken_at', scoring.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', scoring.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['competition_id'], ['competitions.id'], name=op.f('fk_photos_competition_id_competitions')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_photos_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('competition_id', 'sha256', name=op.f('pk_photos'))
    )
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photos_sha256'), ['sha256'], unique=False)

    op.create_table('entry_photos',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('competition_id', sa.Integer(), nullable=False),
    sa.Column('photo_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['competition_id', 'photo_id'], ['photos.competition_id', 'photos.sha256'], name=op.f('fk_entry_photos_competition_id_photos')),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_entry_photos_entry_id_entries')),
    sa.PrimaryKeyConstraint('entry_id', 'position', name=op.f('pk_entry_photos'))
    )
    with op.batch_alter_table('entry_photos', schema=None) as batch_op:
        batch_op.create_index('ix_entry_photos_photo', ['competition_id', 'photo_id'], unique=False)

    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chainage_m', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_column('chainage_m')

    with op.batch_alter_table('entry_photos', schema=None) as batch_op:
        batch_op.drop_index('ix_entry_photos_photo')

    op.drop_table('entry_photos')
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photos_sha256'))

    op.drop_table('photos')
    op.drop_table('photo_files')
