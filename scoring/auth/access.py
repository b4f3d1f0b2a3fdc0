"""Who is calling, and what their role lets them do (CONTRACT.md §2 "Auth")."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property, wraps

from flask import g, request
from sqlalchemy import bindparam, select

from ..clock import utcnow
from ..errors import Problem
from ..extensions import db, sqlite_read_only
from .models import ApiToken, User, user_sections

# Who reads a competition's rules, months, boards and entries. A contractor reads only its own
# sections' entries and notices (`readable_sections`).
READERS = ("admin", "supervisor", "viewer", "contractor")


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough; passwords get a slow one.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The caller of one request: the token's user, read with one Core query (every request pays
    for it, so no ORM objects are built on this path)."""

    id: int
    username: str
    role: str
    competition_id: int | None
    token_id: int

    @cached_property
    def section_ids(self) -> set[int]:
        return set(db.session.scalars(_SECTION_IDS, {"user_id": self.id}))


_SECTION_IDS = select(user_sections.c.section_id).where(user_sections.c.user_id == bindparam("user_id"))


_PRINCIPAL = (
    select(User.id, User.username, User.role, User.competition_id, ApiToken.id, ApiToken.expires_at)
    .join(User, ApiToken.user_id == User.id)
    # The user's own flag in the same lookup: a deactivated user's tokens die on every worker and host
    # with the commit that deactivates them, whatever any process remembers.
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None), User.active.is_(True))
)


@dataclass(frozen=True)
class Along:
    """More columns read in the token's own query, so that a route that needs little else answers
    after one round trip: `columns` of the table of `key`, outer-joined on `key` = the URL argument
    `argument`. The route finds them in `g.along` (all None when no row has that key)."""

    key: object
    argument: str
    columns: tuple

    @cached_property
    def statement(self):
        return _PRINCIPAL.add_columns(*self.columns).outerjoin(self.key.table, self.key == bindparam("along"))


def user_for_token(token: str | None, along: Along | None = None, key=None) -> Principal | None:
    """The live, unexpired, unrevoked token's active user; checked on every request, so a revocation or
    a deactivation takes effect on the very next one. With `along`, its columns for `key` go to `g.along`."""
    if not token:
        return None
    # Core on the session's connection: the ORM execution path costs more than the query itself.
    params = {"token_hash": hash_token(token)}
    if along is not None:
        params["along"] = key
    row = _lookup(_PRINCIPAL if along is None else along.statement, params)
    if row is None or (row.expires_at is not None and row.expires_at <= utcnow()):
        return None
    if along is not None:
        g.along = tuple(row[6:])
    return Principal(row[0], row[1], row[2], row[3], row[4])


def _read_first(statement, params):
    """The token's row. SQLite, a writing request whose transaction has not begun: read in a short
    read transaction of its own (plain BEGIN, which never waits in WAL mode) and end it, so that the
    request's own transaction (BEGIN IMMEDIATE, extensions.py) takes the write lock after the token
    check, not before it: two writers no longer queue for the lock while the other checks a token.
    A revocation committed between the two is the same as one committed just after the request."""
    session = db.session()
    if sqlite_read_only.get() or session.in_transaction() or session.get_bind().dialect.name != "sqlite":
        return session.connection().execute(statement, params).first()
    mark = sqlite_read_only.set(True)
    try:
        return session.connection().execute(statement, params).first()
    finally:
        sqlite_read_only.reset(mark)
        session.rollback()  # nothing was written; the connection goes back to the pool


# A read checks its token on a connection of its own, not in the session's transaction: a wall poll
# answered 304 or a board read from the cache has no other query, and then no session is ever made or
# torn down. On PostgreSQL that connection is in autocommit: one round trip, where a transaction takes
# three (BEGIN, the query, ROLLBACK). A revoked token still fails on the very next request, and whatever
# else a read queries (a board computed afresh) it reads after the token, in the session, so never older
# than the revision read along (SQLite's reads keep their deferred BEGIN, extensions.py: its driver's
# autocommit would undo that recipe, and it has no round trip to save). A write checks its token inside
# its own transaction, or on SQLite just before it (`_read_first`).
def _lookup(statement, params: dict):
    if request.method not in ("GET", "HEAD"):
        return _read_first(statement, params)
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn.execute(statement, params).first()


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def roles(*allowed: str, along: Along | None = None):
    """Require a valid bearer token whose user has one of `allowed` roles (and read `along` with it)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = user_for_token(bearer_token(), along, kwargs.get(along.argument) if along else None)
            if user is None:
                raise Problem(401, "A valid bearer token is required.",
                              headers={"WWW-Authenticate": 'Bearer realm="scoring"'})
            if user.role not in allowed:
                raise Problem(403, f"The {user.role} role may not do this.")
            g.user = user
            return view(*args, **kwargs)

        return wrapper

    return decorator


def check_competition(user: Principal, competition_id: int) -> None:
    """A display token reads only its own competition's boards."""
    if user.role == "display" and user.competition_id != competition_id:
        raise Problem(403, "This display token belongs to another competition.")


def check_section(user: Principal, section_id: int, code: str) -> None:
    """A supervisor works, and a contractor reads and answers, only on the sections assigned to them."""
    if user.role in ("supervisor", "contractor") and section_id not in user.section_ids:
        raise Problem(403, f"标段 {code} 不属于 {user.username}。Section {code} is not assigned to {user.username}.")


def readable_sections(user: Principal) -> set[int] | None:
    """The sections whose entries and notices the caller may read; None for every section."""
    return user.section_ids if user.role == "contractor" else None
