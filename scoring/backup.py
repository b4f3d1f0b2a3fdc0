"""`flask --app wsgi backup FILE` and `restore FILE`: every table's rows, as JSON lines.

The file reads top to bottom:

    {"format": "wubiwusai-backup", "version": 1, "created_at": …, "schema": "<alembic revision>", "tables": [...]}
    {"table": "competitions", "columns": ["id", "name", …], "rows": 1}
    [1, "市大外环五比五赛", …]                       one JSON array per row, in `columns` order
    …
    {"end": true, "rows": {"competitions": 1, …}}     a truncated file has no end line and is refused

Decimals are written as strings ("97.50"), times as ISO 8601 with their offset, so nothing passes through
binary floating point; bytes (the photos, when PHOTO_STORE is the database) as Base64. Tables come in
foreign-key order, which is also the order `restore` inserts them.
A restore goes into an EMPTY database (after `flask db upgrade`) in one transaction: all or nothing.
"""
from __future__ import annotations

import base64
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import LargeBinary, func, inspect, select, text

from .clock import utcnow
from .extensions import db, sqlite_read_only

FORMAT = "wubiwusai-backup"
VERSION = 1
BATCH = 1000
BLOB_BATCH = 20  # rows of a table holding photos (up to about a megabyte each) read or written at a time
PROGRESS_EVERY = 10_000


class BackupError(click.ClickException):
    """A backup file or target database we must not go on with; the message says why."""


def _tables():
    return list(db.metadata.sorted_tables)  # parents before children


def _schema_revision() -> str | None:
    if not inspect(db.session.connection()).has_table("alembic_version"):
        return None
    return db.session.scalar(text("SELECT version_num FROM alembic_version"))


def _encode(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot write {type(value).__name__} to a backup")


def _decoder(column):
    """Turn a value read from the file back into what the column type takes."""
    column_type = getattr(column.type, "impl_instance", column.type)  # a TypeDecorator: what it stores
    try:
        kind = column_type.python_type
    except NotImplementedError:
        return None
    if kind is Decimal:
        return Decimal
    if kind is datetime:
        return datetime.fromisoformat
    if kind is date:
        return date.fromisoformat
    if kind is bytes:
        return base64.b64decode
    return None


def _batch_size(table) -> int:
    return BLOB_BATCH if any(isinstance(c.type, LargeBinary) for c in table.columns) else BATCH


def write_backup(path: Path, progress=lambda message: None) -> dict[str, int]:
    """Write every table of the current database to `path`; returns the row counts."""
    token = sqlite_read_only.set(True)  # SQLite: a plain read transaction, writers go on
    try:
        return _write(path, progress)
    finally:
        db.session.rollback()
        sqlite_read_only.reset(token)


def _write(path: Path, progress) -> dict[str, int]:
    session = db.session
    if session.get_bind().dialect.name == "postgresql":  # one consistent view of all tables
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    tables = _tables()
    counts: dict[str, int] = {}
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8") as out:
        header = {"format": FORMAT, "version": VERSION, "created_at": utcnow().isoformat(),
                  "schema": _schema_revision(), "tables": [t.name for t in tables]}
        out.write(json.dumps(header, ensure_ascii=False) + "\n")
        for table in tables:
            total = session.scalar(select(func.count()).select_from(table))
            columns = [c.name for c in table.columns]
            out.write(json.dumps({"table": table.name, "columns": columns, "rows": total}) + "\n")
            order = list(table.primary_key.columns) or list(table.columns)
            written = 0
            for row in session.execute(select(*table.columns).order_by(*order)).yield_per(_batch_size(table)):
                out.write(json.dumps(list(row), ensure_ascii=False, default=_encode) + "\n")
                written += 1
                if written % PROGRESS_EVERY == 0:
                    progress(f"  {table.name}: {written}/{total}")
            if written != total:  # cannot happen inside one snapshot; a half file must never pass as whole
                raise BackupError(f"{table.name}: counted {total} rows but read {written}")
            counts[table.name] = written
            progress(f"{table.name}: {written} rows")
        out.write(json.dumps({"end": True, "rows": counts}) + "\n")
    tmp.replace(path)  # a crash mid-way leaves FILE.part, never a short FILE
    return counts


def _read(path: Path):
    try:
        with path.open(encoding="utf-8") as source:
            for number, line in enumerate(source, 1):
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as error:
                    raise BackupError(f"{path}:{number}: not a backup line ({error.msg})") from None
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise BackupError(f"{path}: not a UTF-8 backup file") from None


def _check_empty() -> None:
    existing = set(inspect(db.session.connection()).get_table_names())
    missing = [t.name for t in _tables() if t.name not in existing]
    if missing:
        raise BackupError(f"the database has no table {missing[0]}; run `flask --app wsgi db upgrade` first")
    filled = [f"{t.name} ({n} rows)" for t in _tables()
              if (n := db.session.scalar(select(func.count()).select_from(t)))]
    if filled:
        raise BackupError("refusing to restore into a database that holds data: " + ", ".join(filled[:5])
                          + ("…" if len(filled) > 5 else "") + ". Restore into an empty database "
                          "(a new one, after `flask --app wsgi db upgrade`).")


def restore_backup(path: Path, progress=lambda message: None) -> dict[str, int]:
    """Load a backup into the current (empty) database; the caller commits. Returns row counts."""
    lines = _read(path)
    try:
        _, header = next(lines)
    except StopIteration:
        raise BackupError(f"{path}: the file is empty") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError(f"{path}: not a {FORMAT} file")
    if header.get("version") != VERSION:
        raise BackupError(f"{path}: backup format version {header.get('version')}; this release reads {VERSION}")
    _check_empty()
    here = _schema_revision()
    if header.get("schema") != here:
        raise BackupError(f"the backup is of schema {header.get('schema')}, the database is at {here}; "
                          "upgrade both to the same revision first")
    tables = {t.name: t for t in _tables()}
    counts: dict[str, int] = {}
    table = columns = decoders = None
    batch: list[dict] = []

    def flush():
        if batch:
            db.session.execute(table.insert(), batch)
            batch.clear()

    for number, line in lines:
        if isinstance(line, dict) and "table" in line:
            flush()
            if line["table"] not in tables:
                raise BackupError(f"{path}:{number}: unknown table {line['table']!r}")
            table = tables[line["table"]]
            columns = line["columns"]
            unknown = set(columns) - set(table.columns.keys())
            if unknown:
                raise BackupError(f"{path}:{number}: {table.name} has no column {sorted(unknown)[0]!r}")
            decoders = [_decoder(table.columns[c]) for c in columns]
            counts[table.name] = 0
            progress(f"{table.name}: {line['rows']} rows")
        elif isinstance(line, dict) and line.get("end"):
            flush()
            if line.get("rows") != counts:
                raise BackupError(f"{path}: row counts do not match the end line; the file is damaged")
            break
        elif isinstance(line, list) and table is not None and len(line) == len(columns):
            batch.append({c: (v if v is None or d is None else d(v)) for c, v, d in zip(columns, line, decoders,
                                                                                       strict=True)})
            counts[table.name] += 1
            if len(batch) >= _batch_size(table):
                flush()
                if counts[table.name] % PROGRESS_EVERY == 0:
                    progress(f"  {table.name}: {counts[table.name]}")
        else:
            raise BackupError(f"{path}:{number}: unexpected line")
    else:
        raise BackupError(f"{path}: the file ends before its end line; it is truncated")
    _reset_sequences(counts)
    _move_revisions_on()
    return counts


# A restore puts the data back in time, but the boards cached under the revisions the original went on
# to reach (in a worker, on a wall screen that polls with If-None-Match, in a browser) must never
# match the restored data's next revisions. Each posting batch, void or close is one revision; a
# million is more than a competition reaches in years.
RESTORE_REVISION_JUMP = 1_000_000


def _move_revisions_on() -> None:
    """Bump every restored competition's revision past anything its boards were cached under, and every
    month's (the month before's ranks are cached under it: standings.models.MonthRevision)."""
    for name in ("competitions", "month_revisions"):
        table = db.metadata.tables[name]
        db.session.execute(table.update().values(revision=table.c.revision + RESTORE_REVISION_JUMP))


def _reset_sequences(counts: dict[str, int]) -> None:
    """PostgreSQL: make the id sequences continue after the restored ids (SQLite does it itself)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in _tables():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not pk[0].autoincrement or pk[0].type.python_type is not int:
            continue
        sequence = db.session.scalar(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                     {"t": table.name, "c": pk[0].name})
        if sequence:
            highest = f"(SELECT MAX({pk[0].name}) FROM {table.name})"
            db.session.execute(text(f"SELECT setval(:s, COALESCE({highest}, 0) + 1, false)"), {"s": sequence})


def _progress(message: str) -> None:
    click.echo(message, err=True)


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file):
    """Write every table to FILE (JSON lines); progress goes to stderr."""
    counts = write_backup(file, _progress)
    click.echo(f"backup written to {file}: {sum(counts.values())} rows in {len(counts)} tables", err=True)
    if current_app.config.get("PHOTO_STORE", "database") != "database":
        click.echo(f"the photos' bytes are in {current_app.config['PHOTO_STORE']}, not in this file: "
                   "back up that bucket too", err=True)


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(file):
    """Load FILE (from `backup`) into this EMPTY database, all or nothing."""
    try:
        counts = restore_backup(file, _progress)
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    click.echo(f"restored {sum(counts.values())} rows in {len(counts)} tables from {file}", err=True)
