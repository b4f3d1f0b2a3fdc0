"""Users and tokens. These change data; the caller (a request or a command) commits."""
from __future__ import annotations

import math
import re
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import case, func, select, update
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
PASSWORD_MIN = 10


def check_password_rule(username: str, password: str, field: str = "password") -> None:
    """The contract's rules for a new password: at least 10 characters, not the username."""
    errors = []
    if len(password) < PASSWORD_MIN:
        errors.append(f"密码至少 {PASSWORD_MIN} 个字符。A password has at least {PASSWORD_MIN} characters.")
    if password.strip().casefold() == username.casefold():
        errors.append("密码不能与用户名相同。A password must not be the username.")
    if errors:
        raise Problem(422, "The password is not allowed.", {field: errors})


def _hash(password: str) -> str:
    """A slow salted hash (scrypt in production)."""
    return generate_password_hash(password, current_app.config["PASSWORD_HASH_METHOD"])


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
    if password:
        check_password_rule(username, password)
    sections = _sections(competition_id, section_codes or [])
    user = User(
        username=username,
        role=role,
        password_hash=_hash(password) if password else None,
        competition_id=competition_id,
        sections=list(sections),
    )
    db.session.add(user)
    db.session.flush()
    record("user.created", competition_id=competition_id, target=f"user:{user.id}",
           detail={"username": username, "role": role, "sections": sorted(s.code for s in sections)})
    return user


def _sections(competition_id: int | None, codes: list[str]) -> list[Section]:
    """The sections named by `codes` in the competition; a 422 naming any that is not there."""
    if not codes:
        return []
    if competition_id is None:
        raise Problem(422, "Sections need a competition.", {"competition": ["Required with sections."]})
    sections = db.session.scalars(
        select(Section).where(Section.competition_id == competition_id, Section.code.in_(codes))
        .order_by(Section.code)
    ).all()
    missing = sorted(set(codes) - {s.code for s in sections})
    if missing:
        raise Problem(422, "Unknown sections.", {"sections": [f"Unknown section: {c}." for c in missing]})
    return list(sections)


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise Problem(404, f"No user {user_id}.")
    return user


def user_named(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise Problem(404, f"No user named {username!r}.")
    return user


def update_user(user: User, changes: dict, reason: str | None = None) -> User:
    """Change who someone is on the project: `active`, `sections`, `display_name` (each optional).

    Deactivating revokes every token at once (and the token lookup checks the flag too); new sections
    hold from the next request, for every role that works on sections. Audited with the values before
    and after; a change to nothing changes nothing and records nothing."""
    before, after = {}, {}
    if "display_name" in changes and changes["display_name"] != user.display_name:
        before["display_name"], after["display_name"] = user.display_name, changes["display_name"]
        user.display_name = changes["display_name"]
    if "sections" in changes:
        sections = _sections(user.competition_id, changes["sections"])
        old, new = sorted(s.code for s in user.sections), [s.code for s in sections]
        if old != new:
            before["sections"], after["sections"] = old, new
            user.sections = sections
    if "active" in changes and changes["active"] != user.active:
        if not changes["active"]:
            _keep_an_admin(user)
        before["active"], after["active"] = user.active, changes["active"]
        user.active = changes["active"]
    if before:
        db.session.flush()
        record("user.updated", competition_id=user.competition_id, target=f"user:{user.id}", reason=reason,
               detail={"username": user.username, "before": before, "after": after})
        if after.get("active") is False:
            revoke_tokens(user, reason=reason)
    return user


def _keep_an_admin(user: User) -> None:
    """The office never locks itself out: the last active admin stays active."""
    if user.role != "admin":
        return
    others = db.session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True), User.id != user.id))
    if not others:
        raise Problem(409, "不能停用最后一个有效的管理员账号。The last active admin cannot be deactivated.")


def set_password(user: User, password: str, reason: str | None = None) -> int:
    """The office sets a new password (a forgotten one, a handover); every token of the user is revoked.
    Returns how many tokens were revoked."""
    check_password_rule(user.username, password)
    user.password_hash = _hash(password)
    record("user.password_set", competition_id=user.competition_id, target=f"user:{user.id}", reason=reason,
           detail={"username": user.username})
    return revoke_tokens(user, reason=reason)


def change_own_password(user_id: int, token_id: int, current: str, new: str, address: str) -> int | None:
    """Someone changes their own password, proving the current one. A wrong current password counts as a
    failed login (and is throttled like one), so a stolen token cannot be used to guess it: None then,
    the caller commits the failure. Otherwise the user's other tokens are revoked (a lost tablet stays
    logged out), this one stays; returns how many were revoked."""
    user = get_user(user_id)
    claim_login_attempt(user.username, address)
    if not (user.password_hash and check_password_hash(user.password_hash, current)):
        db.session.add(LoginFailure(username=user.username, address=address[:64]))
        return None
    release_login_attempt(user.username, address)
    check_password_rule(user.username, new, "new")
    user.password_hash = _hash(new)
    record("user.password_changed", competition_id=user.competition_id, target=f"user:{user.id}",
           detail={"username": user.username})
    return revoke_tokens(user, keep=token_id)


def issue_token(user: User, ttl_hours: int | None = None, *, actor=None) -> tuple[str, ApiToken]:
    """A new bearer token; the plain value is returned once and never stored. The audit names who
    made it (the request's user, e.g. the admin; `actor` when given) and, in detail, whom it is for.
    A display token does not expire (a wall screen runs for years): it is revoked by hand, or with
    its user; every other token lasts `ttl_hours` (TOKEN_TTL_HOURS by default)."""
    token = secrets.token_urlsafe(32)
    if user.role == "display" and ttl_hours is None:
        expires_at = None
    else:
        expires_at = utcnow() + timedelta(hours=ttl_hours or current_app.config["TOKEN_TTL_HOURS"])
    row = ApiToken(user_id=user.id, token_hash=hash_token(token), expires_at=expires_at)
    db.session.add(row)
    db.session.flush()
    record("token.created", competition_id=user.competition_id, target=f"token:{row.id}",
           detail={"username": user.username, "expires_at": expires_at.isoformat() if expires_at else None},
           actor=actor)
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
    # A deactivated user's right password is refused exactly like a wrong one: no hint the account exists.
    if not (user and user.active and user.password_hash and good):
        db.session.add(LoginFailure(username=username[:80], address=address[:64]))
        return None  # the caller commits the failure, then answers 401
    release_login_attempt(username, address)
    return issue_token(user, actor=user)  # who logs in makes their own token


def release_login_attempt(username: str, address: str) -> None:
    """A right password gives its claim back and clears the (username, address) count."""
    (address_key, _), (user_key, _) = _throttle_keys(username, address)
    db.session.execute(update(LoginThrottle).where(LoginThrottle.key == user_key).values(failures=0))
    db.session.execute(update(LoginThrottle).where(LoginThrottle.key == address_key, LoginThrottle.failures > 0)
                       .values(failures=LoginThrottle.failures - 1))


def revoke_tokens(user: User, token_id: int | None = None, *, keep: int | None = None,
                  reason: str | None = None, actor=None) -> int:
    """Revoke one of a user's tokens, or all of them (but `keep`); effective for the very next request."""
    stmt = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if token_id is not None:
        stmt = stmt.where(ApiToken.id == token_id)
    if keep is not None:
        stmt = stmt.where(ApiToken.id != keep)
    tokens = db.session.scalars(stmt).all()
    now = utcnow()
    for token in tokens:
        token.revoked_at = now
        record("token.revoked", competition_id=user.competition_id, target=f"token:{token.id}",
               detail={"username": user.username}, reason=reason, actor=actor)
    return len(tokens)
