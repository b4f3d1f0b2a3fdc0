"""A pytest plugin: a test fails when its code commits a change to what a board shows without bumping
the competition's revision in the same transaction.

The leaderboard's ETag and every worker's response cache are keyed by `competitions.revision`, so a
write that forgets the bump leaves a stale board on every screen until some other write comes along
(issue: `tallies rebuild` did). Rather than trusting a list of the paths known today, this watches
every statement the test process sends to the database (SQLAlchemy's cursor events, which see ORM
flushes, Core statements and raw SQL alike): a committed transaction that changed rows of a table a
board reads (`BOARD_TABLES`) must also have run `UPDATE competitions SET revision = …`. So a new
path — a correction, a rename, an archive, a penalty posted by the scheduler — fails the first test
that exercises it if it forgets. tests/test_revision.py checks that `BOARD_TABLES` covers every table
the boards read and walks the known paths through their real entry points.

Tests that change tables behind the API's back on purpose (to simulate drift) say so with
`@pytest.mark.tampers_with_board_tables`.
"""
from __future__ import annotations

import re
import traceback
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

# Every table whose rows a leaderboard is built from (tests/test_revision.py checks this against the
# statements a board actually runs). `competitions` counts for its other columns (name, rules).
BOARD_TABLES = frozenset({
    "competitions", "criteria", "items", "sections", "teams", "entries", "subject_tallies", "vetoes",
    "veto_revocations", "periods", "period_events", "snapshots", "month_revisions",
})

_WRITE = re.compile(r"^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)\"?(.*)", re.IGNORECASE | re.DOTALL)
_BUMP = re.compile(r"\bSET\b.*\brevision\s*=", re.IGNORECASE | re.DOTALL)
# A month's row made open changes no board (a month without a row is open): posting makes one,
# and so does the scheduler for last month, neither with anything else to show.
_NEUTRAL = re.compile(r"^\s*INSERT\s+INTO\s+periods\b.*\bON\s+CONFLICT\b.*\bDO\s+NOTHING", re.IGNORECASE | re.DOTALL)
_ROOT = Path(__file__).resolve().parent.parent
_STATE = "revision_guard"


class Guard:
    def __init__(self):
        self.armed = False
        self.violations: list[str] = []

    # -- per transaction, per connection -------------------------------------------------------

    @staticmethod
    def _state(conn) -> dict:
        return conn.info.setdefault(_STATE, {"written": set(), "bumped": False, "pending": None})

    def begin(self, conn) -> None:
        conn.info[_STATE] = {"written": set(), "bumped": False, "pending": None}

    def before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        state = self._state(conn)
        self._settle(conn, state)
        match = _WRITE.match(statement)
        if match is None:
            return
        table = match.group(2).lower()
        if table == "competitions" and match.group(1).upper() == "UPDATE" and _BUMP.search(match.group(3)):
            state["bumped"] = True
        elif table in BOARD_TABLES and not _NEUTRAL.match(statement):
            state["pending"] = (table, _total_changes(conn))

    def after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        state = self._state(conn)
        if state["pending"] is not None and conn.dialect.name != "sqlite":
            # PostgreSQL reports the rows a statement changed at once, RETURNING or not.
            table, _ = state["pending"]
            if cursor.rowcount:
                state["written"].add(table)
            state["pending"] = None

    @staticmethod
    def _settle(conn, state: dict) -> None:
        """SQLite counts the rows an INSERT … RETURNING changed only once its rows are read, so the
        last write statement is settled when the next statement starts, or at commit."""
        if state["pending"] is None:
            return
        table, before = state["pending"]
        if _total_changes(conn) != before:
            state["written"].add(table)
        state["pending"] = None

    def commit(self, conn) -> None:
        state = self._state(conn)
        self._settle(conn, state)
        conn.info.pop(_STATE, None)
        if self.armed and state["written"] and not state["bumped"]:
            self.violations.append(
                f"a transaction changed {', '.join(sorted(state['written']))} without bumping the competition's "
                f"revision (bump_revision in the same transaction), committed at:\n{_where()}")

    def rollback(self, conn) -> None:
        conn.info.pop(_STATE, None)


def _total_changes(conn):
    if conn.dialect.name != "sqlite":
        return None
    return conn.connection.dbapi_connection.total_changes


def _where() -> str:
    frames = [f for f in traceback.extract_stack()[:-2]
              if f.filename.startswith(str(_ROOT)) and "/.venv/" not in f.filename
              and not f.filename.endswith("revision_guard.py")]
    return "".join(traceback.format_list(frames[-6:]))


GUARD = Guard()


def pytest_configure(config):
    config.addinivalue_line("markers", "tampers_with_board_tables: changes board tables behind the API's back "
                                       "on purpose; the revision guard leaves it alone")
    event.listen(Engine, "begin", GUARD.begin)
    event.listen(Engine, "before_cursor_execute", GUARD.before)
    event.listen(Engine, "after_cursor_execute", GUARD.after)
    event.listen(Engine, "commit", GUARD.commit)
    event.listen(Engine, "rollback", GUARD.rollback)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Armed while the test itself runs (fixtures set up tables their own way)."""
    GUARD.armed = item.get_closest_marker("tampers_with_board_tables") is None
    GUARD.violations = []
    try:
        result = yield
    finally:
        GUARD.armed = False
    if GUARD.violations:
        pytest.fail("stale boards: " + "\n\n".join(GUARD.violations), pytrace=False)
    return result
