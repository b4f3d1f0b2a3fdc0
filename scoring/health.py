"""GET /healthz: for load balancers and the people who look after the service."""
from flask import Blueprint
from sqlalchemy import func, select, text

from .api import problem_response
from .extensions import db
from .scheduler.models import Heartbeat

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        last = db.session.scalar(select(func.max(Heartbeat.at)))
    except Exception:  # noqa: BLE001 - any failure to reach the database means unhealthy
        db.session.rollback()
        return problem_response(503, "The database cannot be reached.")
    return {"status": "ok", "database": "ok",
            "scheduler": {"last_heartbeat": last.isoformat() if last else None}}
