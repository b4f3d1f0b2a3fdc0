"""Group bots (CONTRACT.md §8) against a local server that plays WeCom, DingTalk and Feishu (bot_platforms.py)."""
from __future__ import annotations

import pytest
from bot_platforms import BotPlatforms
from sqlalchemy import func, select

from scoring.channels import operations as channels
from scoring.channels import outbox
from scoring.channels.models import ChannelMessage
from scoring.clock import utcnow
from scoring.competitions.operations import get_competition
from scoring.extensions import db
from scoring.periods.operations import close_period

ALL = ["month_closed", "veto", "notice_overdue", "daily_digest"]
DING_SECRET = "SECd4f0c1e2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5"
FEISHU_SECRET = "fs7Hq2LmN8pR4tV6xZ0bC3dE"
BOTS = (("wecom", "693a91f6-7aoc-4bc4-97a0-0ec2sifa5aaa", None),
        ("dingtalk", "8f1c2d3e4b5a69788f1c2d3e4b5a69788f1c2d3e4b5a6978", DING_SECRET),
        ("feishu", "2b6e1c9a-5f0d-4e3b-8a7c-1d2e3f4a5b6c", FEISHU_SECRET))


@pytest.fixture
def platforms():
    server = BotPlatforms().start()
    yield server
    server.stop()


@pytest.fixture
def bots(platforms, client, world):
    """One bot of each platform (DingTalk and Feishu signed), each added to the world's competition."""
    made = {}
    for kind, key, secret in BOTS:
        bot, url = platforms.bot(kind, key, secret)
        made[kind] = add_channel(client, world, kind, url, secret)
        made[kind]["bot"], made[kind]["raw_url"] = bot, url
    return made


def add_channel(client, world, kind, url, secret=None, events=ALL, status=201):
    body = {"kind": kind, "url": url, "events": events, **({"secret": secret} if secret else {})}
    response = client.post(world.url("/channels"), json=body, headers=world.headers())
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def send(app, now=None) -> int:
    with app.app_context():
        return outbox.send_due(now or utcnow())


def deliveries(client, world, channel_id) -> list[dict]:
    response = client.get(world.url(f"/channels/{channel_id}/deliveries?per_page=500"), headers=world.headers())
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def overdue(app, world, *numbers, days_late=2):
    with app.app_context():
        queued = channels.notices_overdue(world.cid, [{"number": n, "section": "LJ-01", "section_name": "一标段",
                                                       "days_late": days_late} for n in numbers])
        db.session.commit()
        return queued


# -- channels: the API, masking ---------------------------------------------------------------------

def test_channels_are_listed_with_the_key_and_the_secret_masked_everywhere(client, world, api, bots):
    listed = api.get("/channels").get_json()
    assert [c["kind"] for c in listed] == ["wecom", "dingtalk", "feishu"]
    text = api.get("/channels").get_data(as_text=True) + str(api.audit())
    for _kind, key, secret in BOTS:
        assert key not in text and key[:12] not in text
        if secret:
            assert secret not in text and secret[3:15] not in text
    by_kind = {c["kind"]: c for c in listed}
    assert by_kind["wecom"]["url"].endswith("/cgi-bin/webhook/send?key=****5aaa")
    assert by_kind["dingtalk"]["url"].endswith("/robot/send?access_token=****6978")
    assert by_kind["feishu"]["url"].endswith("/open-apis/bot/v2/hook/****5b6c")
    assert by_kind["dingtalk"]["secret"] == "****c4d5" and by_kind["wecom"]["secret"] is None
    assert by_kind["wecom"]["events"] == ALL
    created = [e for e in api.audit() if e["action"] == "channel.created"]
    assert [e["detail"]["url"] for e in created] == [c["url"] for c in listed]


def test_bad_channels_are_refused_and_nothing_is_stored(client, world, api, platforms):
    _, wecom = platforms.bot("wecom", "k" * 36)
    before = api.stored()
    for body, field in (({"kind": "wecom", "url": wecom, "secret": "SECabc", "events": ["veto"]}, "secret"),
                        ({"kind": "dingtalk", "url": wecom, "events": ["veto"]}, "url"),
                        ({"kind": "feishu", "url": "ftp://example.org/open-apis/bot/v2/hook/x", "events": ["veto"]},
                         "url"),
                        ({"kind": "slack", "url": wecom, "events": ["veto"]}, "kind"),
                        ({"kind": "wecom", "url": wecom, "events": ["goal_scored"]}, "events"),
                        ({"kind": "wecom", "url": wecom, "events": []}, "events")):
        api.problem(client.post(world.url("/channels"), json=body, headers=world.headers()), 422, field)
    body = {"kind": "wecom", "url": wecom, "events": ["veto"]}
    api.problem(client.post(world.url("/channels"), json=body, headers=world.headers("viewer")), 403)
    api.problem(client.get(world.url("/channels"), headers=world.headers("sup1")), 403)
    assert api.stored() == before


def test_a_removed_channel_gets_nothing_more_and_keeps_its_history(client, world, api, app, bots):
    wecom = bots["wecom"]
    api.veto(section="LJ-02")
    assert send(app) == 3
    veto = api.veto(section="LJ-03")
    assert client.delete(world.url(f"/channels/{wecom['id']}"), headers=world.headers()).status_code == 204
    api.revoke(veto["id"])
    send(app)
    history = deliveries(client, world, wecom["id"])
    assert [(d["event_key"], d["status"]) for d in history] == [
        (f"veto:{veto['id']}:imposed", "cancelled"), (f"veto:{veto['id'] - 1}:imposed", "sent")]
    assert len(wecom["bot"].messages) == 1 and len(bots["feishu"]["bot"].messages) == 3
    assert [c["kind"] for c in api.get("/channels").get_json()] == ["dingtalk", "feishu"]
    api.problem(client.delete(world.url(f"/channels/{wecom['id']}"), headers=world.headers()), 404)


# -- events are queued with what caused them ---------------------------------------------------------

def test_events_are_queued_in_the_transaction_of_the_close_and_the_veto(client, world, api, app, bots, months):
    api.post(month=months.last, section="LJ-02", who="sup2", points=1)
    with app.app_context():  # a close that is rolled back (a crash before its commit) queues nothing
        close_period(get_competition(world.cid), months.last)
        assert db.session.scalar(select(func.count()).select_from(ChannelMessage)) == 3
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(ChannelMessage)) == 0
    api.close(months.last)
    api.close(months.last)  # a no-op: no second message
    api.veto(period=months.this, status=201)
    for channel in bots.values():
        keys = [d["event_key"] for d in deliveries(client, world, channel["id"])]
        assert keys == ["veto:1:imposed", f"month_closed:{months.last}:1"]
    api.reopen(months.last)
    api.close(months.last)  # a second edition is a new message: the correction
    keys = [d["event_key"] for d in deliveries(client, world, bots["feishu"]["id"])]
    assert keys[0] == f"month_closed:{months.last}:2"
    api.veto(period=months.last, status=409)  # refused: nothing queued either
    assert len(deliveries(client, world, bots["feishu"]["id"])) == 3


def test_a_channel_gets_only_the_events_it_asked_for(client, world, api, app, platforms, months):
    _, url = platforms.bot("wecom", "only-vetoes-0123456789abcdef")
    channel = add_channel(client, world, "wecom", url, events=["veto"])
    api.post(month=months.last, points=1)
    api.close(months.last)
    veto = api.veto()
    api.revoke(veto["id"])
    overdue(app, world, "ZG-000000-0001")
    assert [d["event_key"] for d in deliveries(client, world, channel["id"])] == [
        f"veto:{veto['id']}:revoked", f"veto:{veto['id']}:imposed"]
