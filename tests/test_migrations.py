"""`flask db upgrade` on a database in use (what `make run` does after a pull): the migrations since
0004 alter tables that other rows refer to, which SQLite does by copying the table. Every row stays, and
every reference still points at its row."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from conftest import ROOT
from flask_migrate import upgrade

from scoring import create_app
from scoring.extensions import db

BEFORE = "0004_notices"  # the last revision before the first one that copies a referenced table


def one_row_per_table(connection) -> dict[str, int]:
    """A row in every table, each required column filled, each reference pointing at the row of its
    table (id 1); returns the number of rows per table."""
    meta = sa.MetaData()
    meta.reflect(connection)
    samples = {sa.Integer: 1, sa.Numeric: 1, sa.Float: 1, sa.Boolean: False, sa.Date: dt.date(2025, 3, 1),
               sa.DateTime: dt.datetime(2025, 3, 1, 8, 0), sa.JSON: [], sa.LargeBinary: b"x"}
    for table in meta.sorted_tables:
        if table.name == "alembic_version":
            continue
        row = {}
        for column in table.columns:
            if column.foreign_keys or column.primary_key:
                row[column.name] = 1
            elif not column.nullable and column.server_default is None:
                kind = type(column.type)
                value = next((v for t, v in samples.items() if issubclass(kind, t)), None)
                row[column.name] = value if value is not None else "x"
        connection.execute(table.insert().values(**row))
    return {t.name: connection.scalar(sa.select(sa.func.count()).select_from(t))
            for t in meta.sorted_tables if t.name != "alembic_version"}


@pytest.mark.tampers_with_board_tables  # rows written straight into the tables, then migrated
def test_upgrade_keeps_every_row_of_a_database_in_use(tmp_path):
    url = f"sqlite:///{tmp_path / 'in-use.db'}"  # SQLite: PostgreSQL alters in place, nothing is copied
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision=BEFORE)
        with db.engine.begin() as connection:
            before = one_row_per_table(connection)
        assert before["entries"] == before["competitions"] == 1

        upgrade(directory=str(ROOT / "migrations"))  # to the head, through every copying migration

        with db.engine.connect() as connection:
            for table, count in before.items():
                assert connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) == count, table
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert connection.scalar(sa.text("PRAGMA foreign_keys")) == 1  # enforced again after the upgrade
        db.engine.dispose()

