"""Users and tokens. These change data; the caller (a request or a command) commits."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..audit.operations import record
from ..clock import utcnow
from ..competitions.models import Competition, Section
from ..errors import Problem
from ..extensions import db
from .access import hash_token
from .models import ROLES, USERNAME, USERNAME_RULE, ApiToken, LoginFailure, User

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


def login(username: str, password: str, address: str) -> tuple[str, ApiToken] | None:
    """Check a password and issue a token. Too many recent failures for the name or the address
    answer 429 before the password is even looked at; the 401 never says which part was wrong."""
    window = utcnow() - timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])
    failures = db.session.scalar(
        select(func.count()).select_from(LoginFailure).where(
            LoginFailure.at > window, or_(LoginFailure.username == username, LoginFailure.address == address)
        )
    )
    if failures >= current_app.config["LOGIN_MAX_FAILURES"]:
        raise Problem(429, "Too many failed logins; try again later.",
                      headers={"Retry-After": str(current_app.config["LOGIN_WINDOW_SECONDS"])})
    user = db.session.scalar(select(User).where(User.username == username))
    good = check_password_hash(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
    if not (user and user.password_hash and good):
        db.session.add(LoginFailure(username=username[:80], address=address[:64]))
        return None  # the caller commits the failure, then answers 401
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
