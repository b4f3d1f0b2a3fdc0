"""Sending the queued bot messages: each message to each channel exactly once, never more than 20 a
minute to one bot.

A run (the scheduler's "channels" job) works like the report mail (reports/mail.py):

1. A message stuck in "sending" for longer than STUCK_AFTER belongs to a run that died during the
   HTTP request: whether the platform took it is unknown, so it is not resent but marked failed
   (a duplicate in the group is not undoable; a missing one is visible in GET …/deliveries).
2. Per bot (the channels sharing one URL), under the channel rows' lock: count the requests made to it
   in the last minute, claim at most 20 minus that many due messages (queued, or failed with a retry
   due), record an attempt for each and commit, BEFORE any request goes out. The claim re-checks the
   status, so two runs never claim one message; the lock makes two runs count one window.
3. Send each claimed message (signed now: the platforms refuse a signature more than an hour old) and
   commit its outcome at once. The platform's answer is read: HTTP 200 with errcode/code 0 is sent;
   anything else fails with the platform's own words and is retried after 1, 2, 4 … minutes (at most
   an hour, MAX_ATTEMPTS times) — except what retrying cannot fix (a refused signature, an unknown
   key), which fails at once. A rate-limit answer pauses the bot (DingTalk: 10 minutes). After a
   network error the bot's other claimed messages are put back untried for the next run.
"""
from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from ..clock import utcnow
from ..extensions import db
from ..reports.mail import backoff
from .models import Channel, ChannelAttempt, ChannelMessage
from .platforms import mask_url, post

log = logging.getLogger(__name__)
# urllib3 logs each request line at DEBUG, the webhook key with it: never below INFO.
logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)

PER_MINUTE = 20
WINDOW = timedelta(minutes=1)
MAX_ATTEMPTS = 8
STUCK_AFTER = timedelta(minutes=15)
INTERRUPTED = "interrupted while sending; not resent to avoid a duplicate — check the group"


def _due(now: datetime):
    return (ChannelMessage.status.in_(("queued", "failed")) & ChannelMessage.next_attempt_at.is_not(None)
            & (ChannelMessage.next_attempt_at <= now))


def send_due(now: datetime | None = None) -> int:
    """Send what is due to every bot; returns how many messages were sent."""
    now = now or utcnow()
    give_up_interrupted(now)
    urls = db.session.scalars(
        select(Channel.url).join(ChannelMessage, ChannelMessage.channel_id == Channel.id)
        .where(_due(now), Channel.removed_at.is_(None),
               or_(Channel.paused_until.is_(None), Channel.paused_until <= now))
        .group_by(Channel.url).order_by(func.min(ChannelMessage.id))
    ).all()
    db.session.commit()
    return sum(_send(claim(url, now), now) for url in urls)


def give_up_interrupted(now: datetime) -> int:
    result = db.session.execute(
        update(ChannelMessage).where(ChannelMessage.status == "sending", ChannelMessage.claimed_at < now - STUCK_AFTER)
        .values(status="failed", last_error=INTERRUPTED, next_attempt_at=None)
    )
    db.session.commit()
    if result.rowcount:
        log.error("%d bot messages were interrupted while sending; not resent", result.rowcount)
    return result.rowcount or 0


def claim(url: str, now: datetime) -> list[ChannelMessage]:
    """Claim the bot's due messages that fit in its minute, and commit before sending any."""
    lock = select(Channel.id).where(Channel.url == url).order_by(Channel.id)
    if db.session.get_bind().dialect.name == "postgresql":
        lock = lock.with_for_update()
    bot = db.session.scalars(lock).all()  # SQLite: BEGIN IMMEDIATE already runs writers one at a time
    paused = db.session.scalar(select(func.max(Channel.paused_until)).where(Channel.id.in_(bot)))
    used = db.session.scalar(select(func.count()).select_from(ChannelAttempt)
                             .where(ChannelAttempt.channel_id.in_(bot), ChannelAttempt.at > now - WINDOW))
    room = PER_MINUTE - used
    if room <= 0 or (paused is not None and paused > now):
        db.session.commit()
        return []
    token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    ids = db.session.scalars(
        select(ChannelMessage.id).join(Channel, Channel.id == ChannelMessage.channel_id)
        .where(Channel.id.in_(bot), Channel.removed_at.is_(None), _due(now))
        .order_by(ChannelMessage.id).limit(room)
    ).all()
    if not ids:
        db.session.commit()
        return []
    db.session.execute(
        update(ChannelMessage).where(ChannelMessage.id.in_(ids), _due(now))
        .values(status="sending", claimed_by=token, claimed_at=now).execution_options(synchronize_session=False)
    )
    claimed = db.session.scalars(
        select(ChannelMessage).where(ChannelMessage.claimed_by == token, ChannelMessage.status == "sending")
        .order_by(ChannelMessage.id).execution_options(populate_existing=True)
    ).all()
    db.session.add_all([ChannelAttempt(channel_id=m.channel_id, message_id=m.id, at=now) for m in claimed])
    db.session.commit()
    return claimed


def _attempt(message: ChannelMessage) -> ChannelAttempt:
    return db.session.scalar(select(ChannelAttempt).where(ChannelAttempt.message_id == message.id)
                             .order_by(ChannelAttempt.id.desc()).limit(1))


def _send(messages: list[ChannelMessage], now: datetime) -> int:
    sent = 0
    for index, message in enumerate(messages):
        channel = message.channel
        where = f"channel {channel.id} ({channel.kind} {mask_url(channel.kind, channel.url)})"
        answer = post(channel.kind, channel.url, channel.secret, message.body, now)
        message.attempts += 1
        message.claimed_by = message.claimed_at = None
        _attempt(message).result = "ok" if answer.ok else answer.error[:500]
        if answer.ok:
            message.status, message.sent_at, message.last_error = "sent", now, None
            db.session.commit()
            sent += 1
            log.info("%s: %s sent", where, message.event_key)
            continue
        message.status, message.last_error = "failed", answer.error[:2000]
        retry = answer.retry and message.attempts < MAX_ATTEMPTS
        message.next_attempt_at = now + backoff(message.attempts) if retry else None
        log.warning("%s: %s failed (attempt %d%s): %s", where, message.event_key, message.attempts,
                    "" if retry else ", not retried", answer.error)
        rest = messages[index + 1:]
        if answer.pause is not None:  # the platform's rate limit: the whole bot waits
            until = now + answer.pause
            message.next_attempt_at = max(message.next_attempt_at or until, until) if retry else None
            for c in db.session.scalars(select(Channel).where(Channel.url == channel.url)):
                c.paused_until = until
            _release(rest, until, "not sent: the platform asked to slow down")
            db.session.commit()
            return sent
        if answer.network:
            _release(rest, message.next_attempt_at or now, "not tried: the bot was unreachable")
            db.session.commit()
            return sent
        db.session.commit()
    return sent


def _release(messages: list[ChannelMessage], until: datetime, note: str) -> None:
    """Put claimed messages back untried, due again at `until`."""
    for message in messages:
        message.status = "failed" if message.attempts else "queued"
        message.claimed_by = message.claimed_at = None
        message.next_attempt_at = until
        _attempt(message).result = note
