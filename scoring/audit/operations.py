"""Writing the audit trail. Every operation that changes data calls `record` in its transaction."""
from __future__ import annotations

from flask import g, has_request_context, request

from ..clock import utcnow
from ..extensions import db
from .models import AuditEvent


def record(action: str, *, competition_id: int | None = None, target: str | None = None,
           detail: dict | None = None, reason: str | None = None, actor=None) -> AuditEvent:
    """Append one audit event. The actor is the request's user unless given (the scheduler, the CLI)."""
    user = actor if actor is not None else (g.get("user") if has_request_context() else None)
    event = AuditEvent(
        competition_id=competition_id,
        actor_id=getattr(user, "id", None),
        actor=getattr(user, "username", None) or (user if isinstance(user, str) else "cli"),
        action=action,
        target=target,
        detail=detail,
        reason=reason,
    )
    event.user_agent, event.address = _origin()
    db.session.add(event)
    return event


def record_many(action: str, events: list[tuple[str, dict]], *, competition_id: int, actor) -> None:
    """Append one event per (target, detail) in a single INSERT: a batch of 500 entries is 500 events."""
    user_agent, address = _origin()
    now = utcnow()
    db.session.execute(AuditEvent.__table__.insert(), [
        {"competition_id": competition_id, "at": now, "actor_id": actor.id, "actor": actor.username,
         "action": action, "target": target, "detail": detail, "reason": None,
         "user_agent": user_agent, "address": address}
        for target, detail in events
    ])


def _origin() -> tuple[str | None, str | None]:
    if not has_request_context():
        return None, None
    return (request.user_agent.string or "")[:300] or None, request.remote_addr
