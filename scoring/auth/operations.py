"""Users and tokens. These change data; the caller (a request or a command) commits."""
from __future__ import annotations

import math
import re
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import case, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..audit.operations import record
from ..clock import utcnow
from ..competitions.models import Competition, Section
from ..errors import Problem
from ..extensions import db, upsert_insert
from .access import hash_token
from .models import ROLES, USERNAME, USERNAME_RULE, ApiToken, LoginFailure, LoginThrottle, User

# Checked against when the username is unknown, so both failures take the same time.
_DUMMY_HASH = generate_password_hash("not a password")


def create_user(username: str, role: str, password: str | None = None, competition_id: int | None = None,
                section_codes: list[str] | None = None) -> User:
    if role not in ROLES:
        raise Problem(422, f"Unknown role {role!r}.", {"role": [f"Must be one of: {', '.join(ROLES)}."]})
    if not re.fullmatch(USERNAME, username) or len(username) > 80:
        raise Problem(422, "The username is not allowed.", {"username": [USERNAME_RULE]})
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Problem(409, f"A user named {username!r} already exists.")
    if role == "display" and competition_id is None:
        raise Problem(422, "A display user needs a competition.", {"competition": ["Required for a display."]})
    if section_codes and competition_id is None:
        raise Problem(422, "Sections need a competition.", {"competition": ["Required with sections."]})
    if competition_id is not None and db.session.get(Competition, competition_id) is None:
        raise Problem(422, "Unknown competition.", {"competition": [f"No competition {competition_id}."]})
    sections = []
    if section_codes:
        sections = db.session.scalars(
            select(Section).where(Section.competition_id == competition_id, Section.code.in_(section_codes))
        ).all()
        missing = sorted(set(section_codes) - {s.code for s in sections})
        if missing:
            raise Problem(422, "Unknown sections.", {"sections": [f"Unknown section: {c}." for c in missing]})
    user = User(
        username=username,
        role=role,
        password_hash=generate_password_hash(password, current_app.config["PASSWORD_HASH_METHOD"])
        if password else None,
        competition_id=competition_id,
        sections=list(sections),
    )
    db.session.add(user)
    db.session.flush()
    record("user.created", competition_id=competition_id, target=f"user:{user.id}",
           detail={"username": username, "role": role, "sections": sorted(s.code for s in sections)})
    return user


def issue_token(user: User, ttl_hours: int | None = None, *, actor=None) -> tuple[str, ApiToken]:
    """A new bearer token; the plain value is returned once and never stored. The audit names who
    made it (the request's user, e.g. the admin; `actor` when given) and, in detail, whom it is for."""
    token = secrets.token_urlsafe(32)
    ttl = ttl_hours or current_app.config["TOKEN_TTL_HOURS"]
    row = ApiToken(user_id=user.id, token_hash=hash_token(token), expires_at=utcnow() + timedelta(hours=ttl))
    db.session.add(row)
    db.session.flush()
    record("token.created", competition_id=user.competition_id, target=f"token:{row.id}",
           detail={"username": user.username}, actor=actor)
    return token, row


def _throttle_keys(username: str, address: str) -> list[tuple[str, str]]:
    """(key, limit setting) pairs; the address first, always in this order (row locks taken in one order)."""
    return [(f"addr:{address}"[:160], "LOGIN_MAX_FAILURES_PER_ADDRESS"),
            (f"user:{address} {username}"[:160], "LOGIN_MAX_FAILURES")]


def claim_login_attempt(username: str, address: str) -> None:
    """Count this attempt against the (username, address) and the address limits before any password
    is looked at, atomically (one INSERT … ON CONFLICT DO UPDATE … RETURNING per key: the row lock
    orders parallel attempts across workers). Over a limit → 429 with Retry-After (raised:
    nothing is kept). The row stays locked until the request commits, so a parallel attempt waits and
    then counts this one; a right password gives the claim back (`login`)."""
    window = current_app.config["LOGIN_WINDOW_SECONDS"]
    now = utcnow()
    table = LoginThrottle.__table__
    expired = table.c.window_start <= now - timedelta(seconds=window)
    for key, limit in _throttle_keys(username, address):
        stmt = upsert_insert(table).values(key=key, failures=1, window_start=now)
        stmt = stmt.on_conflict_do_update(index_elements=[table.c.key], set_={
            "failures": case((expired, 1), else_=table.c.failures + 1),
            "window_start": case((expired, now), else_=table.c.window_start),
        }).returning(table.c.failures, table.c.window_start)
        failures, started = db.session.execute(stmt).one()
        if failures > current_app.config[limit]:
            retry = math.ceil((started + timedelta(seconds=window) - now).total_seconds())
            raise Problem(429, "Too many failed logins; try again later.", headers={"Retry-After": str(max(1, retry))})


def login(username: str, password: str, address: str) -> tuple[str, ApiToken] | None:
    """Check a password (after `claim_login_attempt`) and issue a token. A wrong one keeps the claim
    as a failure; a right one gives it back and clears the (username, address) count. The 401 never
    says which part was wrong."""
    user = db.session.scalar(select(User).where(User.username == username))
    good = check_password_hash(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
    if not (user and user.password_hash and good):
        db.session.add(LoginFailure(username=username[:80], address=address[:64]))
        return None  # the caller commits the failure, then answers 401
    (address_key, _), (user_key, _) = _throttle_keys(username, address)
    db.session.execute(update(LoginThrottle).where(LoginThrottle.key == user_key).values(failures=0))
    db.session.execute(update(LoginThrottle).where(LoginThrottle.key == address_key, LoginThrottle.failures > 0)
                       .values(failures=LoginThrottle.failures - 1))
    return issue_token(user, actor=user)  # who logs in makes their own token


def revoke_tokens(user: User, token_id: int | None = None) -> int:
    """Revoke one of a user's tokens, or all of them; effective for the very next request."""
    stmt = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if token_id is not None:
        stmt = stmt.where(ApiToken.id == token_id)
    tokens = db.session.scalars(stmt).all()
    now = utcnow()
    for token in tokens:
        token.revoked_at = now
        record("token.revoked", competition_id=user.competition_id, target=f"token:{token.id}",
               detail={"username": user.username})
    return len(tokens)
