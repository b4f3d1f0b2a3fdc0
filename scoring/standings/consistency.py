"""The nightly check: the running aggregates must equal a recomputation from the entries."""
from __future__ import annotations

import logging

from ..extensions import db
from . import tallies

log = logging.getLogger(__name__)


def check_tallies(repair: bool = False) -> dict:
    """Return {key: (stored, recomputed)} for every aggregate that differs; rebuild when asked."""
    stored = tallies.stored()
    wanted = tallies.recomputed()
    drift = {key: (stored.get(key), wanted.get(key))
             for key in stored.keys() | wanted.keys() if stored.get(key) != wanted.get(key)}
    if drift:
        log.warning("%d aggregate rows drifted from the entries%s", len(drift), "; rebuilding" if repair else "")
        if repair:
            for competition_id in sorted({key[0] for key in drift}):
                tallies.rebuild(competition_id)  # bumps its revision
    db.session.flush()
    return drift
