"""The service as deployed plus two baseline routes, for the benchmark only:

    gunicorn -c gunicorn.conf.py --no-control-socket bench.app:app

`/bench/bare` answers a small JSON dict without touching the database; `/bench/insert` does one
INSERT into a bench-only table and commits, through the app's own SQLAlchemy session and engine
(so on SQLite it takes the same BEGIN IMMEDIATE write lock as an entry). They pass through every
hook the real routes pass through (security headers, the SQLite read-only flag), so the ratios in
the table measure the routes' own work. The production app (`wsgi:app`) never has them.
"""
from __future__ import annotations

import sys

from flask import Blueprint
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from config import ConfigError
from scoring import create_app
from scoring.extensions import db
from scoring.types import UTCDateTime, utcnow

bench_metadata = MetaData()  # not the app's metadata: the migrations never see this table
bench_rows = Table(
    "bench_rows", bench_metadata,
    Column("id", Integer, primary_key=True),
    Column("note", String(64)),
    Column("at", UTCDateTime),
)

bp = Blueprint("bench", __name__, url_prefix="/bench")


@bp.get("/bare")
def bare():
    return {"status": "ok", "service": "scoring", "bench": True}


@bp.post("/insert")
def insert_row():
    db.session.execute(insert(bench_rows).values(note="bench", at=utcnow()))
    db.session.commit()
    return {"status": "created"}, 201


def create_tables(engine) -> None:
    """Made by the runner before gunicorn starts (two workers creating it at once would race)."""
    bench_metadata.create_all(engine)


def create_bench_app(settings: dict | None = None):
    app = create_app(settings)
    app.register_blueprint(bp)
    return app


try:
    app = create_bench_app()
except ConfigError as error:
    sys.exit(f"configuration error: {error}")
