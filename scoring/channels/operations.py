"""Channels and their outbox. These change data; the caller commits.

The event hooks (`month_closed`, `veto_imposed`, `veto_revoked`, `notices_overdue`, `daily_digest`) are
called by the operation that causes the event, inside its transaction: the message is queued if and
only if the close, the veto … is committed."""
from __future__ import annotations

from datetime import date
from hashlib import sha256

from sqlalchemy import select, update

from ..audit.operations import record
from ..clock import utcnow
from ..competitions.models import Competition
from ..errors import Problem
from ..extensions import db, upsert_insert
from . import messages
from .models import EVENTS, Channel, ChannelMessage
from .platforms import PLATFORMS, Message, mask, mask_url


def create_channel(competition: Competition, data: dict) -> Channel:
    kind, url, secret = data["kind"], data["url"], data.get("secret")
    if PLATFORMS[kind].key_of(url) is None:
        raise Problem(422, "This is not a webhook address of that platform.", {"url": [_URL_HELP[kind]]})
    if secret and kind == "wecom":
        raise Problem(422, "WeCom group bots are not signed.",
                      {"secret": ["企业微信群机器人没有签名密钥，请不要填写。"]})
    events = [e for e in EVENTS if e in data["events"]]
    channel = Channel(competition_id=competition.id, kind=kind, url=url, secret=secret or None,
                      events_list=",".join(events))
    db.session.add(channel)
    db.session.flush()
    record("channel.created", competition_id=competition.id, target=f"channel:{channel.id}",
           detail={"kind": kind, "url": mask_url(kind, url), "secret": mask(secret) if secret else None,
                   "events": events})
    return channel


_URL_HELP = {
    "wecom": "企业微信群机器人的 Webhook 地址，形如 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
    "dingtalk": "钉钉自定义机器人的 Webhook 地址，形如 https://oapi.dingtalk.com/robot/send?access_token=…",
    "feishu": "飞书自定义机器人的 Webhook 地址，形如 https://open.feishu.cn/open-apis/bot/v2/hook/…",
}


def get_channel(competition_id: int, channel_id: int) -> Channel:
    channel = db.session.get(Channel, channel_id)
    if channel is None or channel.competition_id != competition_id:
        raise Problem(404, f"No channel {channel_id} in this competition.")
    return channel


def remove_channel(channel: Channel) -> None:
    """Stop a channel: nothing more is queued or sent to it; what it was sent stays on record."""
    if channel.removed_at is not None:
        raise Problem(404, f"Channel {channel.id} is already removed.")
    channel.removed_at = utcnow()
    cancelled = db.session.execute(
        update(ChannelMessage).where(ChannelMessage.channel_id == channel.id,
                                     ChannelMessage.status.in_(("queued", "failed")))
        .values(status="cancelled", next_attempt_at=None)
    ).rowcount
    record("channel.removed", competition_id=channel.competition_id, target=f"channel:{channel.id}",
           detail={"kind": channel.kind, "url": mask_url(channel.kind, channel.url), "messages_cancelled": cancelled})


# -- the outbox ------------------------------------------------------------------------------------

def subscribed(competition_id: int, event: str) -> list[Channel]:
    channels = db.session.scalars(select(Channel).where(Channel.competition_id == competition_id,
                                                        Channel.removed_at.is_(None)).order_by(Channel.id)).all()
    return [c for c in channels if event in c.events]


def enqueue(competition_id: int, event: str, key: str, message: Message | None = None, *, build=None) -> int:
    """Queue one message of event `key` to every channel of the competition that takes `event`; a
    second call with the same key is a no-op per channel. `build()` makes the message only when some
    channel wants it. Returns the number of new messages."""
    channels = subscribed(competition_id, event)
    if not channels:
        return 0
    message = message or build()
    event_key = f"{event}:{key}"
    now = utcnow()
    stmt = upsert_insert(ChannelMessage.__table__).values([
        {"channel_id": c.id, "event": event, "event_key": event_key, "title": message.title[:200],
         "body": PLATFORMS[c.kind].render(message), "status": "queued", "attempts": 0, "queued_at": now,
         "next_attempt_at": now}
        for c in channels
    ]).on_conflict_do_nothing(index_elements=["channel_id", "event_key"]).returning(ChannelMessage.id)
    return len(db.session.execute(stmt).all())


def month_closed(competition: Competition, key: str, edition: int) -> int:
    """Called by `periods.operations.publish_edition`: at the close, or at the approval of its report."""
    return enqueue(competition.id, "month_closed", f"{key}:{edition}",
                   build=lambda: messages.month_closed(competition, key, edition))


def veto_imposed(veto) -> int:
    return enqueue(veto.competition_id, "veto", f"{veto.id}:imposed", build=lambda: messages.veto_imposed(veto))


def veto_revoked(veto) -> int:
    return enqueue(veto.competition_id, "veto", f"{veto.id}:revoked", build=lambda: messages.veto_revoked(veto))


def notices_overdue(competition_id: int, notices: list[dict]) -> int:
    """The notices that just went overdue, in one message per channel. Keyed by their numbers, so the
    overdue job, run again or in two schedulers, queues them once."""
    if not notices:
        return 0
    numbers = ",".join(sorted(n["number"] for n in notices))
    key = numbers if len(numbers) <= 90 else sha256(numbers.encode()).hexdigest()[:32]
    return enqueue(competition_id, "notice_overdue", key,
                   build=lambda: messages.notices_overdue(competition_id, notices))


def daily_digest(competition: Competition, day: date, new_notices: int | None = None) -> int:
    return enqueue(competition.id, "daily_digest", day.isoformat(),
                   build=lambda: messages.daily_digest(competition, day, new_notices))
