"""The Flask extensions, made once and bound to the app in `create_app`."""
from __future__ import annotations

from contextvars import ContextVar

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()

# SQLite: a transaction that reads and later writes cannot wait for another writer (SQLite answers
# "database is locked" at once instead), so writing work starts with BEGIN IMMEDIATE. Read-only
# requests set this to True and start a plain deferred transaction, which never blocks in WAL mode.
sqlite_read_only: ContextVar[bool] = ContextVar("sqlite_read_only", default=False)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name != "sqlite":
        return
    if sqlite_read_only.get():
        # A deferred BEGIN neither waits nor fails (WAL): sent on the driver's connection, past SQLAlchemy's
        # statement path (an execution context, the cursor events, a result), which costs every read
        # request more than SQLite takes to run it.
        conn.connection.driver_connection.execute("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # may wait for another writer: errors as SQLAlchemy's


def upsert_insert(table):
    """An INSERT that takes ON CONFLICT clauses, in the dialect of the session's database (both
    PostgreSQL and SQLite speak it; SQLAlchemy spells it per dialect)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
