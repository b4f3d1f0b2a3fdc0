"""The nightly check: the running aggregates must equal a recomputation from the entries."""
from __future__ import annotations

import logging

from ..competitions.operations import bump_revision
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
            tallies.rebuild()
            for competition_id in {key[0] for key in drift}:
                bump_revision(competition_id)
    db.session.flush()
    return drift
