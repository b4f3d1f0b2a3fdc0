"""Sending the queued monthly reports over SMTP."""
from __future__ import annotations

from datetime import datetime


def send_due(now: datetime) -> int:
    """Send every delivery that is due; returns how many were sent."""
    raise NotImplementedError("report mail is not built yet")
