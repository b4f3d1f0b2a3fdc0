"""Group bots (CONTRACT.md §8) against a local server that plays WeCom, DingTalk and Feishu (bot_platforms.py)."""
from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from bot_platforms import BotPlatforms, text_of
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
    (stopped,) = api.get("/channels?stopped=true").get_json()  # still listed, as stopped, masked as ever
    assert stopped["id"] == wecom["id"] and stopped["removed_at"] and "****" in stopped["url"]
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


# -- delivery -------------------------------------------------------------------------------------------

def test_each_event_reaches_each_platform_once_in_its_own_format_signed(client, world, api, app, bots, months):
    app.config["PUBLIC_URL"] = "https://scoring.example.org/wubi"
    api.post(month=months.last, section="LJ-02", who="sup2", points=1)
    api.post(month=months.last, section="LJ-01", team="TJD-1", points=2.5)
    api.post(month=months.last, section="LJ-03", who="sup2", points=1)
    api.veto(section="LJ-03", period=months.last, reason="发生一般安全事故")
    api.close(months.last)
    veto = api.veto(section="LJ-01", reason="瞒报质量事故")
    api.revoke(veto["id"], reason="复核后撤销")
    overdue(app, world, "ZG-000000-0007", "ZG-000000-0003", days_late=3)
    with app.app_context():
        channels.daily_digest(get_competition(world.cid), months.now.date())
        db.session.commit()
    assert send(app) == 3 * 6
    assert send(app) == 0

    board = api.rows(months.last)
    for kind, channel in bots.items():
        bot = channel["bot"]
        assert len(bot.messages) == 6 and len(bot.requests) == 6, kind
        texts = [text_of(kind, m) for m in bot.messages]
        for text in texts:
            assert len(text.encode()) <= 2048, text  # a phone screen, and under WeCom's text limit
            assert "https://scoring.example.org/wubi/app/#/" in text
        imposed_last, closed, imposed, revoked, notices, digest = texts
        # The competition's name heads every message: a DingTalk bot secured by the keyword 五比五赛 takes them all.
        assert all(t.splitlines()[0].removeprefix("### ").startswith("市大外环五比五赛") for t in texts), texts
        assert f"{int(months.last[5:])}月评比结果" in closed.splitlines()[0]
        assert "流动红旗：LJ-02 二标段（99分）" in closed
        # The numbers are the board's, as every reader sees them.
        assert f"1. LJ-02 二标段 {float(board['LJ-02']['total']):g}分" in closed
        assert f"2. LJ-01 一标段 {float(board['LJ-01']['total']):g}分" in closed
        assert "1. TJD-1 顾官屯镇党员突击队 97.5分" in closed
        assert "LJ-03 三标段：发生一般安全事故" in closed
        assert "LJ-03" in imposed_last and "一票否决" in imposed
        assert "瞒报质量事故" in imposed and "admin" in imposed
        assert "撤销一票否决：LJ-01" in revoked and "复核后撤销" in revoked and "瞒报质量事故" in revoked
        assert "整改通知单逾期：2 份" in notices
        assert notices.index("ZG-000000-0003 LJ-01 一标段 逾期3天") < notices.index("ZG-000000-0007")
        assert "今日录入 3 条" in digest and "LJ-01 一标段：1 条，共 2.5 分" in digest
        if kind == "feishu":
            assert "**" not in "".join(texts)  # a post has no markdown
    assert all("sign" in r["query"] and "timestamp" in r["query"] for r in bots["dingtalk"]["bot"].requests)
    assert all("sign" in r["body"] for r in bots["feishu"]["bot"].requests)
    for channel in bots.values():
        history = deliveries(client, world, channel["id"])
        assert {(d["status"], d["attempts"], d["last_error"]) for d in history} == {("sent", 1, None)}


def test_a_platform_down_for_a_while_then_up_gets_each_message_once(client, world, api, app, bots, platforms,
                                                                    clock, caplog):
    caplog.set_level(logging.DEBUG)
    clock.move_to(utcnow(), tick=False)
    api.veto(section="LJ-02")
    overdue(app, world, "ZG-000000-0001")
    platforms.down = True
    assert send(app) == 0
    for channel in bots.values():
        history = deliveries(client, world, channel["id"])
        first = history[-1]
        assert first["status"] == "failed" and first["attempts"] == 1
        assert "ConnectionError" in first["last_error"] and "Connection aborted" in first["last_error"]
        # The other message was not tried against a bot that does not answer: it waits with the first.
        assert history[0]["attempts"] == 0 and history[0]["next_attempt_at"] == first["next_attempt_at"]
    clock.shift(timedelta(seconds=30))
    assert send(app) == 0 and all(len(c["bot"].requests) == 0 for c in bots.values())  # not due yet
    clock.shift(timedelta(seconds=31))
    assert send(app) == 0  # still down: the second attempt
    platforms.down = False
    platforms.fail_next["wecom"].append({"errcode": -1, "errmsg": "系统繁忙"})
    clock.shift(timedelta(minutes=2, seconds=1))
    assert send(app) == 2 + 2 + 1
    wecom = deliveries(client, world, bots["wecom"]["id"])
    assert wecom[-1]["status"] == "failed" and wecom[-1]["last_error"] == "企业微信 -1: 系统繁忙"
    clock.shift(timedelta(minutes=4, seconds=1))
    assert send(app) == 1
    clock.shift(timedelta(hours=2))
    assert send(app) == 0
    for kind, channel in bots.items():
        formats = [m.get("msgtype", m.get("msg_type")) for m in channel["bot"].messages]
        assert formats == (["post"] * 2 if kind == "feishu" else ["markdown"] * 2)
        assert [d["status"] for d in deliveries(client, world, channel["id"])] == ["sent", "sent"]
    # The keys and secrets appear nowhere in the log, not even in the errors of requests and urllib3.
    assert "Connection aborted" in caplog.text
    for _kind, key, secret in BOTS:
        assert key not in caplog.text and (secret is None or secret not in caplog.text)


def test_thirty_events_in_a_minute_are_spread_over_two_minutes_none_lost(client, world, api, app, platforms,
                                                                         clock):
    bot, url = platforms.bot("dingtalk", "c0ffee" * 8, DING_SECRET)
    add_channel(client, world, "dingtalk", url, DING_SECRET)
    start = clock.move_to(utcnow(), tick=False) or utcnow()
    queued = 0
    for _ in range(0, 151, 2):  # the scheduler's job every 2 s for 2½ minutes; an event every 2 s at first
        if queued < 30:
            queued += overdue(app, world, f"ZG-000000-{queued:04d}")
        send(app)
        clock.shift(timedelta(seconds=2))
    assert queued == 30 and len(bot.messages) == 30 and len(bot.requests) == 30  # never refused, none lost
    sent = [m["at"] for m in bot.messages]
    assert max(sum(1 for t in sent if s <= t < s + 60) for s in sent) == 20
    assert sent[19] - start.timestamp() < 60 <= sent[20] - start.timestamp() < 120
    numbers = sorted(text_of("dingtalk", m).split("ZG-000000-")[1][:4] for m in bot.messages)
    assert numbers == [f"{n:04d}" for n in range(30)]


def test_the_platforms_rate_limit_answer_pauses_the_bot_and_loses_nothing(client, world, api, app, platforms, clock):
    bot, url = platforms.bot("dingtalk", "b0b0" * 12, DING_SECRET)
    channel = add_channel(client, world, "dingtalk", url, DING_SECRET)
    clock.move_to(utcnow(), tick=False)
    now = utcnow().timestamp()
    bot.messages.extend({"at": now, "from": "another system"} for _ in range(20))  # someone else used the minute
    for n in range(3):
        overdue(app, world, f"ZG-000000-{n:04d}")
    assert send(app) == 0
    history = deliveries(client, world, channel["id"])
    assert history[-1]["last_error"] == "钉钉 130101: send too fast, exceed 20 times per minute"
    listed = api.get("/channels").get_json()[0]
    assert listed["paused_until"] is not None  # DingTalk blocks the bot for 10 minutes
    clock.shift(timedelta(minutes=5))
    assert send(app) == 0 and len(bot.requests) == 1
    clock.shift(timedelta(minutes=5, seconds=1))
    assert send(app) == 3
    assert [d["status"] for d in deliveries(client, world, channel["id"])] == ["sent"] * 3


def test_a_wrong_secret_fails_with_the_platforms_words_and_the_others_still_go(client, world, api, app, platforms,
                                                                              clock):
    clock.move_to(utcnow(), tick=False)
    made = {}
    for kind, key, secret in BOTS:
        bot, url = platforms.bot(kind, key, secret)
        made[kind] = (bot, add_channel(client, world, kind, url, "SECwrong0123456789" if secret else None))
    api.veto()
    assert send(app) == 1
    errors = {kind: deliveries(client, world, channel["id"])[0] for kind, (_, channel) in made.items()}
    assert errors["wecom"]["status"] == "sent"
    assert errors["dingtalk"]["status"] == "failed"
    assert errors["dingtalk"]["last_error"].startswith("钉钉 310000: sign not match")
    assert errors["feishu"]["last_error"] == ("飞书 19021: sign match fail or timestamp is not within one hour "
                                              "from current time")
    assert errors["feishu"]["next_attempt_at"] is None  # retrying cannot fix a secret
    clock.shift(timedelta(hours=3))
    assert send(app) == 0
    assert [len(bot.requests) for bot, _ in made.values()] == [1, 1, 1]


@pytest.mark.time_machine("2025-11-27T17:59:00+08:00")
def test_the_daily_digest_goes_once_at_its_hour(client, world, api, app, bots, clock):
    from scoring.scheduler.jobs import queue_digests

    api.post(section="LJ-01", points=1.5)
    api.post(section="LJ-01", points=1)
    api.post(section="LJ-02", who="sup2", kind="bonus", criterion="safety", item=None, points=1)
    with app.app_context():
        assert queue_digests() == []  # DIGEST_TIME defaults to 18:00
        clock.move_to("2025-11-27T18:00:00+08:00", tick=False)
        assert queue_digests() == [f"{world.cid}:2025-11-27"]
        assert queue_digests() == []
        db.session.commit()
    send(app)
    digest = text_of("wecom", bots["wecom"]["bot"].messages[0])
    assert digest.splitlines()[0] == "### 市大外环五比五赛 日报 11月27日"
    assert "今日录入 3 条：扣分 2 条，加分 1 条" in digest
    assert "LJ-01 一标段：2 条，共 2.5 分" in digest and "LJ-02 二标段：" not in digest
    assert "2025年11月暂列第一：LJ-02 二标段 101分" in digest


def test_two_scheduler_processes_send_each_event_once_per_channel(client, world, api, app, bots, months,
                                                                  database_url, tmp_path):
    """The month before last closes by itself (in a scheduler), a veto is imposed and revoked, notices go
    overdue, the digest is due: two real scheduler processes, on the real clock, race for all of it."""
    from test_scheduler import start_scheduler, stop_schedulers

    api.post(month=months.ago(2), section="LJ-03", who="sup2", points=1)
    veto = api.veto(section="LJ-02")
    api.revoke(veto["id"])
    overdue(app, world, "ZG-000000-0001", "ZG-000000-0002")
    logs = [tmp_path / "scheduler-a.log", tmp_path / "scheduler-b.log"]
    processes = [start_scheduler(database_url, log, DIGEST_TIME="00:00", PUBLIC_URL="https://scoring.example.org")
                 for log in logs]
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and any(len(c["bot"].messages) < 5 for c in bots.values()):
            assert all(p.poll() is None for p in processes), [log.read_text()[-2000:] for log in logs]
            time.sleep(0.5)
        time.sleep(3)  # a few more rounds of every job in both processes
    finally:
        codes = stop_schedulers(processes)
    assert codes == [0, 0], [log.read_text()[-2000:] for log in logs]
    for kind, channel in bots.items():
        titles = sorted(text_of(kind, m).splitlines()[0] for m in channel["bot"].messages)
        assert len(titles) == 5 and len(channel["bot"].requests) == 5, (kind, titles)
        history = deliveries(client, world, channel["id"])
        assert sorted(d["event"] for d in history) == ["daily_digest", "month_closed", "notice_overdue", "veto", "veto"]
        assert {(d["status"], d["attempts"]) for d in history} == {("sent", 1)}
    for log in logs:  # what the schedulers logged names the bots masked, never their keys
        text = log.read_text()
        for _kind, key, secret in BOTS:
            assert key not in text and (secret is None or secret not in text)
    assert "key=****5aaa" in "".join(log.read_text() for log in logs)


def test_a_long_message_is_cut_to_what_the_platform_takes(client, world, api, app, bots):
    long_name = "某某高速公路改扩建工程第一合同段" * 12  # a 200-character section name
    with app.app_context():
        channels.notices_overdue(world.cid, [{"number": f"ZG-000000-{n:04d}", "section": "LJ-01",
                                              "section_name": long_name, "days_late": n} for n in range(40)])
        db.session.commit()
    assert send(app) == 3  # WeCom takes 4,096 bytes of markdown: the bot accepted it
    text = text_of("wecom", bots["wecom"]["bot"].messages[0])
    assert len(text.encode()) <= 4096 and "整改通知单逾期：40 份" in text and "其余略" in text


def test_a_message_interrupted_while_sending_is_not_sent_twice(client, world, api, app, bots, clock):
    clock.move_to(utcnow(), tick=False)
    api.veto()
    with app.app_context():  # a scheduler claims the message, then dies before it records the answer
        claimed = outbox.claim(bots["wecom"]["raw_url"], utcnow())
        assert [m.event_key for m in claimed] == ["veto:1:imposed"]
    clock.shift(timedelta(minutes=5))
    assert send(app) == 2  # the other two bots; the claimed one waits for its owner
    assert deliveries(client, world, bots["wecom"]["id"])[0]["status"] == "queued"
    clock.shift(timedelta(minutes=11))
    assert send(app) == 0
    (wecom,) = deliveries(client, world, bots["wecom"]["id"])
    assert wecom["status"] == "failed" and wecom["last_error"].startswith("interrupted while sending")
    assert bots["wecom"]["bot"].messages == []
