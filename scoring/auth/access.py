"""Who is calling, and what their role lets them do (CONTRACT.md §2 "Auth")."""
from __future__ import annotations

import hashlib
from functools import wraps

from flask import g, request
from sqlalchemy import select

from ..api import Problem
from ..extensions import db
from ..types import utcnow
from .models import ApiToken, User

READERS = ("admin", "supervisor", "viewer")


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough; passwords get a slow one.
    return hashlib.sha256(token.encode()).hexdigest()


def user_for_token(token: str | None) -> User | None:
    if not token:
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    g.token = row
    return row.user


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def roles(*allowed: str):
    """Require a valid bearer token whose user has one of `allowed` roles."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = user_for_token(bearer_token())
            if user is None:
                raise Problem(401, "A valid bearer token is required.",
                              headers={"WWW-Authenticate": 'Bearer realm="scoring"'})
            if user.role not in allowed:
                raise Problem(403, f"The {user.role} role may not do this.")
            g.user = user
            return view(*args, **kwargs)

        return wrapper

    return decorator


def check_competition(user: User, competition_id: int) -> None:
    """A display token reads only its own competition's boards."""
    if user.role == "display" and user.competition_id != competition_id:
        raise Problem(403, "This display token belongs to another competition.")


def check_section(user: User, section_id: int, code: str) -> None:
    """A supervisor works only on the sections assigned to them."""
    if user.role == "supervisor" and section_id not in user.section_ids:
        raise Problem(403, f"Section {code} is not assigned to {user.username}.")
