"""GET /healthz: for load balancers and the people who look after the service.

200 while the database answers (the API itself is fine); `"status": "degraded"` when the scheduler has
not beaten for three intervals (SCHEDULER_INTERVAL) or never has, since then no month closes and no mail
goes out (CONTRACT.md §3 Health); 503 when the database cannot be reached."""
from datetime import timedelta

from flask import Blueprint, current_app
from sqlalchemy import func, select, text

from .api import problem_response
from .clock import utcnow
from .extensions import db
from .scheduler.models import Heartbeat

bp = Blueprint("health", __name__)

STALE_AFTER_INTERVALS = 3


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        last = db.session.scalar(select(func.max(Heartbeat.at)))
    except Exception:  # noqa: BLE001 - any failure to reach the database means unhealthy
        db.session.rollback()
        return problem_response(503, "The database cannot be reached.")
    scheduler = scheduler_status(last)
    return {"status": "ok" if scheduler == "ok" else "degraded", "database": "ok",
            "scheduler": {"last_heartbeat": last.isoformat() if last else None, "status": scheduler}}


def scheduler_status(last) -> str:
    """`ok`, `stale` (no beat for three intervals) or `never`."""
    if last is None:
        return "never"
    limit = timedelta(seconds=STALE_AFTER_INTERVALS * current_app.config["SCHEDULER_INTERVAL"])
    return "ok" if utcnow() - last <= limit else "stale"
