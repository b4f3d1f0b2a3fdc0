"""The service's one clock.

Every "now" of the service — validating `observed_at`, the running month, auto-close, the demo's
replay, the scheduler, token expiry, login windows, mail dates — comes from `utcnow()`, so a test can
move it (time-machine) and CI can run the whole suite with the process clock moved (libfaketime).
ruff's banned-api rule (pyproject.toml) keeps `datetime.now()`, `date.today()` and `time.time()` out of
the rest of the code.
"""
from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, aware, in UTC."""
    return datetime.now(UTC)  # noqa: TID251 - the one place that reads the wall clock
