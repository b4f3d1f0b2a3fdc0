"""Benchmark data sets: one competition, 200 sections, 600 teams, N entries over the 12 months up to now.

    python -m bench.generate 10000 100000 1000000     # builds what is missing, reuses the rest
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/scoring python -m bench.generate 1000000

The rows go straight into the tables with bulk inserts (executemany on SQLite, COPY on PostgreSQL),
the aggregates behind the boards are then built by `scoring.standings.tallies.rebuild()`, exactly as
`flask tallies rebuild` would. A data set is built once and cached: SQLite files under bench/data/
(gitignored), on PostgreSQL one database per size (scoring_bench_<size>). It is built again when the
code has a newer migration than the set. `bench.run` works on a copy, so the cached set stays as
generated.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
VERSION = 1  # bump when the shape of the generated data changes: cached sets are rebuilt
TIMEZONE = "Asia/Shanghai"
N_SECTIONS, TEAMS_PER_SECTION, N_MONTHS = 200, 3, 12
SUPERVISOR_SECTIONS = 5  # the benchmark's tablet user works on S001..S005

CRITERIA = [
    ("quality", "比工艺工法、赛工程质量", 25, 3, [("Q1", "实体质量", 15), ("Q2", "工艺工法", 10)]),
    ("safety", "比平安稳定、赛安全生产", 25, 3, [("S1", "安全防护", 15), ("S2", "安全管理", 10)]),
    ("schedule", "比节点管控、赛工程进度", 20, 2, [("P1", "节点完成", 20)]),
    ("environment", "比措施达标、赛工地环保", 15, 2, [("E1", "扬尘治理", 15)]),
    ("management", "比协同高效、赛精细管理", 15, 2, [("M1", "内业资料", 15)]),
]
ITEMS = [(item, criterion) for criterion, _, _, _, items in CRITERIA for item, _, _ in items]
COLUMNS = ("competition_id", "client_id", "section_id", "team_id", "criterion", "item", "kind", "points",
           "observed_at", "period", "note", "lat", "lon", "status", "received_at", "supervisor_id")


def competition_body() -> dict:
    return {
        "name": "基准测试五比五赛",
        "organizer": "市公路事业发展中心",
        "timezone": TIMEZONE,
        "criteria": [
            {"code": code, "name": name, "weight": weight, "bonus_cap": cap,
             "items": [{"code": ic, "name": iname, "max_points": mp} for ic, iname, mp in items]}
            for code, name, weight, cap, items in CRITERIA
        ],
        "tie_break": ["safety", "quality", "schedule", "environment", "management"],
    }


def section_code(n: int) -> str:
    return f"S{n:03d}"


def month_keys(now: datetime | None = None) -> list[str]:
    """The 12 months up to and including the current one, on the competition's calendar."""
    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(TIMEZONE))
    year, month = local.year, local.month
    keys = []
    for _ in range(N_MONTHS):
        keys.append(f"{year}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return keys[::-1]


# -- where a data set lives ---------------------------------------------------------------------

def base_url() -> str | None:
    """BENCH_DATABASE_URL (PostgreSQL), or None for SQLite."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        return None
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not parsed.drivername.startswith("postgresql"):
        sys.exit("BENCH_DATABASE_URL must be postgresql+psycopg://USER@HOST[:PORT]/ANY (or unset for SQLite)")
    return parsed.render_as_string(hide_password=False)


def dataset_url(size: int, base: str | None, suffix: str = "") -> str:
    """The cached data set of `size` entries (suffix "_work": the copy a run works on)."""
    last = month_keys()[-1].replace("-", "")
    name = f"bench_{size}_{last}{suffix}"
    if base is None:
        DATA.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{DATA / (name + '.db')}"
    return make_url(base).set(database=f"scoring_{name}").render_as_string(hide_password=False)


def _pg_admin(url: str):
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _exists(url: str) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database).exists()
    admin = _pg_admin(url)
    with admin.connect() as conn:
        found = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database})
    admin.dispose()
    return bool(found)


def _drop(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for extra in ("", "-wal", "-shm"):
            Path(parsed.database + extra).unlink(missing_ok=True)
        return
    admin = _pg_admin(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def _create_empty(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        admin = _pg_admin(url)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()


def schema_head() -> str:
    """The newest migration: a data set made before it has another schema than the code's."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


def stored_size(url: str) -> int | None:
    """The entries of a complete data set of this version and schema, or None (missing, partial, outdated)."""
    if not _exists(url):
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            meta = dict(conn.execute(text("SELECT key, value FROM bench_meta")).all())
            if meta.get("version") != str(VERSION) or meta.get("complete") != "yes":
                return None
            if conn.scalar(text("SELECT version_num FROM alembic_version")) != schema_head():
                return None
            count = conn.scalar(text("SELECT count(*) FROM entries"))
            return count if str(count) == meta.get("entries") else None
    except Exception:  # no bench_meta table: an interrupted build
        return None
    finally:
        engine.dispose()


def ensure(size: int, base: str | None = None, *, quiet: bool = False) -> str:
    """The URL of the cached data set of `size` entries, built first when it is missing."""
    url = dataset_url(size, base)
    if stored_size(url) == size:
        if not quiet:
            print(f"data set {size:,} entries: reusing {_where(url)}", file=sys.stderr)
        return url
    _drop(url)
    _create_empty(url)
    build(url, size, quiet=quiet)
    return url


def working_copy(size: int, base: str | None = None) -> str:
    """A fresh copy of the cached data set, for a run to change as it likes."""
    source, target = dataset_url(size, base), dataset_url(size, base, "_work")
    _drop(target)
    if base is None:
        shutil.copyfile(make_url(source).database, make_url(target).database)
    else:
        admin = _pg_admin(source)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{make_url(target).database}" '
                              f'TEMPLATE "{make_url(source).database}"'))
        admin.dispose()
    return target


def drop_working_copy(size: int, base: str | None = None) -> None:
    _drop(dataset_url(size, base, "_work"))


def _where(url: str) -> str:
    parsed = make_url(url)
    return parsed.database if parsed.get_backend_name() == "sqlite" else f"database {parsed.database}"


# -- building one ---------------------------------------------------------------------------------

class Progress:
    """A plain progress bar on stderr."""

    def __init__(self, label: str, total: int, quiet: bool = False):
        self.label, self.total, self.quiet = label, total, quiet
        self.start = self.last = time.monotonic()

    def update(self, done: int) -> None:
        now = time.monotonic()
        if self.quiet or (now - self.last < 0.5 and done < self.total):
            return
        self.last = now
        share = done / self.total if self.total else 1
        bar = "#" * int(share * 30)
        print(f"\r  {self.label:<10} [{bar:<30}] {done:>10,}/{self.total:,} {share:4.0%} {now - self.start:5.1f} s",
              end="", file=sys.stderr, flush=True)

    def finish(self) -> None:
        self.update(self.total)
        if not self.quiet:
            print(file=sys.stderr)


def build(url: str, size: int, *, quiet: bool = False) -> None:
    from flask_migrate import upgrade

    from scoring import create_app
    from scoring.auth.operations import create_user
    from scoring.competitions.models import Section, Team
    from scoring.competitions.operations import create_competition
    from scoring.competitions.schemas import CompetitionIn
    from scoring.extensions import db
    from scoring.periods.operations import ensure_periods
    from scoring.standings import tallies

    started = time.monotonic()
    if not quiet:
        print(f"building data set {size:,} entries in {_where(url)}", file=sys.stderr)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.session.execute(text("CREATE TABLE bench_meta (key VARCHAR(40) PRIMARY KEY, value VARCHAR(200))"))
        competition = create_competition(CompetitionIn().load(competition_body()))
        cid = competition.id
        db.session.execute(insert(Section.__table__), [
            {"competition_id": cid, "code": section_code(n), "name": f"第{n}标段", "start_km": Decimal(n - 1),
             "end_km": Decimal(n), "contractor": "山东路桥集团"} for n in range(1, N_SECTIONS + 1)
        ])
        sections = dict(db.session.execute(select(Section.code, Section.id).where(Section.competition_id == cid)).all())
        db.session.execute(insert(Team.__table__), [
            {"competition_id": cid, "section_id": sections[section_code(n)], "code": f"T{n:03d}-{k}",
             "name": f"第{n}标段党员突击队{k}", "leader": "徐大军"}
            for n in range(1, N_SECTIONS + 1) for k in range(1, TEAMS_PER_SECTION + 1)
        ])
        teams: dict[int, list[int]] = {}
        for team_id, section_id in db.session.execute(select(Team.id, Team.section_id)
                                                      .where(Team.competition_id == cid)):
            teams.setdefault(section_id, []).append(team_id)
        create_user("bench-admin", "admin")
        create_user("bench-viewer", "viewer")
        create_user("bench-wall", "display", competition_id=cid)
        supervisor = create_user("bench-tablet", "supervisor", competition_id=cid,
                                 section_codes=[section_code(n) for n in range(1, SUPERVISOR_SECTIONS + 1)])
        supervisor_id = supervisor.id
        ensure_periods(cid, set(month_keys()))
        db.session.commit()
        db.session.close()  # the raw bulk insert below needs the (SQLite) write lock

        progress = Progress("entries", size, quiet)
        rows = entry_rows(size, cid, supervisor_id, [sections[section_code(n)] for n in range(1, N_SECTIONS + 1)],
                          teams, db.engine.dialect.name)
        bulk_insert_entries(db.engine, rows, size, progress)
        progress.finish()

        progress = Progress("aggregates", 1, quiet)
        tallies.rebuild()
        db.session.execute(text("INSERT INTO bench_meta (key, value) VALUES (:k, :v)"), [
            {"k": "version", "v": str(VERSION)}, {"k": "entries", "v": str(size)},
            {"k": "competition", "v": str(cid)}, {"k": "months", "v": ",".join(month_keys())},
            {"k": "complete", "v": "yes"},
        ])
        db.session.commit()
        progress.finish()
        db.session.close()
        if db.engine.dialect.name == "sqlite":  # one self-contained file, for copying
            raw = db.engine.raw_connection()
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            raw.close()
        else:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        db.engine.dispose()
    if not quiet:
        print(f"  built in {time.monotonic() - started:.1f} s", file=sys.stderr)


def entry_rows(size: int, cid: int, supervisor_id: int, section_ids: list[int], teams: dict[int, list[int]],
               dialect: str):
    """`size` entry rows in the database's own form (hundredths and naive UTC strings on SQLite)."""
    rng = random.Random(size)
    now = datetime.now(UTC)
    sqlite = dialect == "sqlite"
    stamps = {}  # per month, a pool of (observed_at, received_at) in the database's form
    for key in month_keys(now):
        year, month = int(key[:4]), int(key[5:])
        pool = []
        for _ in range(1000):
            local = datetime(year, month, rng.randint(1, 28), rng.randint(7, 18), rng.randint(0, 59),
                             rng.randint(0, 59), tzinfo=ZoneInfo(TIMEZONE))
            observed = min(local.astimezone(UTC), now - timedelta(hours=2))
            received = observed + timedelta(minutes=rng.randint(1, 90))
            if sqlite:
                pool.append((observed.strftime("%Y-%m-%d %H:%M:%S.%f"), received.strftime("%Y-%m-%d %H:%M:%S.%f")))
            else:
                pool.append((observed, received))
        stamps[key] = pool
    keys = list(stamps)
    deduction_points = [Decimal(p) / 2 for p in range(0, 7)]  # 0 (inspected, nothing found) .. 3
    bonus_points = [Decimal("0.5"), Decimal("1"), Decimal("1.5")]
    if sqlite:
        deduction_points = [int(p * 100) for p in deduction_points]
        bonus_points = [int(p * 100) for p in bonus_points]
    notes = ["未戴安全帽", "扬尘未覆盖", "资料不全", None, None]
    for n in range(size):
        section_id = rng.choice(section_ids)
        team_id = rng.choice(teams[section_id]) if rng.random() < 0.75 else None
        key = rng.choice(keys)
        observed, received = rng.choice(stamps[key])
        if rng.random() < 0.85:
            item, criterion = rng.choice(ITEMS)
            kind, points = "deduction", rng.choice(deduction_points)
        else:
            item, criterion = None, rng.choice(CRITERIA)[0]
            kind, points = "bonus", rng.choice(bonus_points)
        yield (cid, f"g{n:09d}", section_id, team_id, criterion, item, kind, points, observed, key,
               rng.choice(notes), None, None, "counted", received, supervisor_id)


def bulk_insert_entries(engine, rows, size: int, progress: Progress, chunk: int = 20000) -> None:
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "sqlite":
            conn = raw.driver_connection
            sql = f"INSERT INTO entries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
            done = 0
            conn.execute("BEGIN IMMEDIATE")
            batch = []
            for row in rows:
                batch.append(row)
                if len(batch) == chunk:
                    conn.executemany(sql, batch)
                    done += len(batch)
                    batch.clear()
                    progress.update(done)
            if batch:
                conn.executemany(sql, batch)
            conn.execute("COMMIT")
        else:
            cursor = raw.cursor()
            with cursor.copy(f"COPY entries ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for done, row in enumerate(rows, 1):
                    copy.write_row(row)
                    if done % chunk == 0:
                        progress.update(done)
            raw.commit()
    finally:
        raw.close()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--force", action="store_true", help="Rebuild even when a cached set is present.")
    args = parser.parse_args(argv)
    base = base_url()
    for size in args.sizes:
        if args.force:
            _drop(dataset_url(size, base))
        ensure(size, base)


if __name__ == "__main__":
    main()
