"""The demo competition: the 五比五赛 on the 121 km outer ring road (市大外环) of the seed article.

Names come from the article (市公路事业发展中心, 顾官屯镇, 徐大军's 党员突击队, 李树荣, the five
slogans); sections, contractors, items and scores are invented but plausible. The demo plays three
months day by day through the same operations the API uses: entries posted by the supervisors, a
daily snapshot every evening, the month closed on the 3rd of the next — so its history, flags and
movement are what a real season would leave behind. Every entry names its stake (桩号), and the
findings of the last three weeks carry photos of a site sign (drawn by `demo_photos`).
"""
from __future__ import annotations

import json
import os
import random
import secrets
import sys
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from sqlalchemy import select

from .auth.models import User
from .auth.operations import create_user, issue_token
from .clock import utcnow
from .competitions.models import Competition, Section
from .competitions.operations import create_competition, create_section, create_team
from .competitions.schemas import CompetitionIn
from .demo_photos import site_photo
from .entries.models import Entry
from .entries.operations import post_entries, void_entry
from .entries.schemas import EntryIn
from .extensions import db
from .fields import format_chainage
from .month import Month
from .notices.models import Notice
from .periods.models import Period
from .periods.operations import close_period, reopen_period
from .photos import images
from .photos.operations import photo_id_of, save_photo
from .reports.models import Recipient
from .standings.operations import take_daily_snapshot
from .vetoes.operations import create_veto

ORGANIZER = "聊城市公路事业发展中心"
NAME = "市大外环项目“五比五赛”劳动竞赛"

CRITERIA = [
    ("quality", "比工艺工法、赛工程质量", "3", [
        ("Q1", "实体质量检测合格率", "10"), ("Q2", "工艺工法执行", "8"), ("Q3", "质量问题整改闭合", "7")]),
    ("safety", "比平安稳定、赛安全生产", "2", [
        ("S1", "安全防护设施", "8"), ("S2", "特种作业持证上岗", "6"), ("S3", "隐患排查治理", "6"),
        ("S4", "安全教育与技术交底", "5")]),
    ("schedule", "比节点管控、赛工程进度", "3", [("P1", "节点目标完成", "12"), ("P2", "资源投入与计划管理", "8")]),
    ("environment", "比措施达标、赛工地环保", "2", [
        ("E1", "扬尘治理", "6"), ("E2", "水土保持与泥浆处理", "5"), ("E3", "文明施工", "4")]),
    ("management", "比协同高效、赛精细管理", "2", [
        ("M1", "内业资料", "5"), ("M2", "协同配合", "5"), ("M3", "党建融合与先锋作用", "5")]),
]

# (code, place, start km, end km, contractor)
SECTIONS = [
    ("LJ-01", "道口铺街道段", "0", "12.6", "鲁西路桥建设有限公司"),
    ("LJ-02", "柳园街道段", "12.6", "24.8", "聊城公路工程集团有限公司"),
    ("LJ-03", "顾官屯镇段", "24.8", "37.5", "齐鲁交通建设集团第三工程公司"),
    ("LJ-04", "高新区段", "37.5", "49.9", "黄河路桥工程有限公司"),
    ("LJ-05", "侯营镇段", "49.9", "61.3", "山东水运路桥建设有限公司"),
    ("LJ-06", "堂邑镇段", "61.3", "73.7", "鲁中公路建设集团有限公司"),
    ("LJ-07", "古楼街道段", "73.7", "85.2", "运河交通工程有限公司"),
    ("LJ-08", "开发区段", "85.2", "97.4", "东昌建工集团有限公司"),
    ("LJ-09", "度假区段", "97.4", "109.6", "聊城市政工程有限公司"),
    ("LJ-10", "东昌湖连接线段", "109.6", "121", "华通路桥集团有限公司"),
]

# (code, name, leader, section)
TEAMS = [
    ("TJD-03", "顾官屯镇路段党员突击队", "徐大军", "LJ-03"),
    ("TJD-01", "道口铺党员突击队", "王有新", "LJ-01"),
    ("TJD-02", "柳园桥梁党员突击队", "孙世梁", "LJ-02"),
    ("TJD-05", "侯营路基党员突击队", "刘东升", "LJ-05"),
    ("TJD-06", "堂邑党员突击队", "张振", "LJ-06"),
    ("TJD-07", "古楼互通党员突击队", "卢立美", "LJ-07"),
    ("TJD-08", "开发区路面党员突击队", "朱玉东", "LJ-08"),
    ("TJD-10", "连接线党员突击队", "苑莘", "LJ-10"),
]

DEDUCTIONS = {
    "Q1": ["钢筋保护层厚度抽检不合格", "压实度检测未达标", "混凝土试块强度偏低"],
    "Q2": ["未按首件制要求施工", "模板拼缝不严密，漏浆", "台背回填分层厚度超标"],
    "Q3": ["质量整改通知单逾期未闭合", "整改回复资料不全"],
    "S1": ["临边防护缺失", "作业人员未佩戴安全帽", "高处作业未系安全带", "基坑周边未设警示标志"],
    "S2": ["电焊工未持证上岗", "起重作业无专人指挥"],
    "S3": ["隐患排查台账未更新", "用电线路私拉乱接"],
    "S4": ["班前安全讲话记录缺失", "新进场工人未三级教育"],
    "P1": ["桥梁下部结构节点滞后", "路基土方节点未完成"],
    "P2": ["机械设备投入不足", "周计划未按时上报"],
    "E1": ["裸土未覆盖", "渣土车未密闭运输", "雾炮未开启"],
    "E2": ["泥浆池防渗不到位", "施工便道积水"],
    "E3": ["材料堆放杂乱", "生活区卫生差"],
    "M1": ["检验批资料滞后", "监理指令回复不及时"],
    "M2": ["与地方协调不及时影响施工", "交叉作业协调不到位"],
    "M3": ["党员先锋岗未挂牌", "“六个一线”工作记录缺失"],
}
BONUSES = [
    ("quality", None, "2", "QC小组成果获省级二等奖"),
    ("safety", None, "1", "安全生产标准化工地观摩"),
    ("schedule", "P1", "1.5", "提前完成跨线桥主体节点"),
    ("management", "M3", "1", "党建与业务融合典型案例获通报表彰"),
    ("environment", None, "0.5", "扬尘治理受到市生态环境局表扬"),
]

CREDENTIALS = "demo-credentials.json"
_load = EntryIn().load
PHOTO_DAYS = 21  # findings this recent carry photos (a few dozen: the demo loads in seconds)


def _progress(label: str, total: int):
    return click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)


def load_demo(if_empty: bool = False, seed: int = 20230102, now: datetime | None = None) -> Competition | None:
    """Load the demo; with `if_empty`, only when no competition is stored. Prints how to log in."""
    if db.session.scalar(select(Competition.id).limit(1)) is not None:
        if if_empty:
            click.echo("The database already holds a competition; demo not loaded.")
            print_access()
            return None
    rng = random.Random(seed)
    now = now or utcnow()
    competition = create_competition(CompetitionIn().load({
        "name": NAME, "organizer": ORGANIZER, "timezone": "Asia/Shanghai",
        "criteria": [
            {"code": code, "name": name, "bonus_cap": Decimal(cap),
             "weight": sum(Decimal(p) for _, _, p in items),
             "items": [{"code": c, "name": n, "max_points": Decimal(p)} for c, n, p in items]}
            for code, name, cap, items in CRITERIA
        ],
        "tie_break": ["safety", "quality", "schedule", "environment", "management"],
        "overdue_penalty": Decimal(OVERDUE_PENALTY),
        "general_bonus_cap": Decimal(GENERAL_BONUS_CAP),
    }))
    for code, place, start, end, contractor in SECTIONS:
        create_section(competition, {"code": code, "name": f"{code[-2:]}标 {place}", "start_km": Decimal(start),
                                     "end_km": Decimal(end), "contractor": contractor})
    for code, name, leader, section in TEAMS:
        create_team(competition, {"code": code, "name": name, "leader": leader, "section": section})
    people = _people(competition)
    for email, name, scope in (("jingsaiban@example.org", "竞赛办", None),
                               ("lj03-pm@example.org", "三标项目经理部", "LJ-03")):
        section_id = _section_id(competition.id, scope) if scope else None
        db.session.add(Recipient(competition_id=competition.id, email=email, name=name, section_id=section_id))
    db.session.commit()

    _play_season(competition, people, rng, now, places=random.Random(seed + 1))
    db.session.commit()
    _notices(competition, people, now, places=random.Random(seed + 2))
    db.session.commit()
    _save_credentials(people["passwords"], people["wall_token"], competition.id)
    click.echo(f"demo loaded: {NAME} (competition {competition.id}), "
               f"{db.session.query(Entry).count()} entries over three months")
    print_access()
    return competition


def _section_id(competition_id: int, code: str) -> int:
    return db.session.scalar(select(Section.id).where(Section.competition_id == competition_id, Section.code == code))


def _people(competition: Competition) -> dict:
    passwords = {}
    users = {}
    for username, role, sections in (
        ("jingsaiban", "admin", None),  # 竞赛办, the competition office
        ("lishurong", "viewer", None),  # 李树荣, cadre of the centre (article)
        ("jianli-a", "supervisor", ["LJ-01", "LJ-02", "LJ-03"]),
        ("jianli-b", "supervisor", ["LJ-04", "LJ-05", "LJ-06", "LJ-07"]),
        ("jianli-c", "supervisor", ["LJ-08", "LJ-09", "LJ-10"]),
        ("lj03-shigong", "contractor", ["LJ-03"]),  # the builder's manager of 顾官屯镇段
    ):
        password = secrets.token_urlsafe(9)
        users[username] = create_user(username, role, password, competition.id if sections else None, sections)
        passwords[username] = password
    wall = create_user("wall", "display", None, competition.id)
    wall_token, _ = issue_token(wall)  # a display token never expires: the wall screen runs for years
    return {"users": users, "passwords": passwords, "wall_token": wall_token}


def _play_season(competition: Competition, people: dict, rng: random.Random, now: datetime,
                 places: random.Random) -> None:
    """`places` picks stakes and draws photos, so the scores stay those of `rng` alone."""
    tz = ZoneInfo(competition.timezone)
    today = now.astimezone(tz).date()
    running = Month.at(now, tz)
    first = running.previous().previous().first_day  # three months: two before this one
    days = [first + timedelta(days=i) for i in range((today - first).days + 1)]
    supervisors = {code: people["users"][u] for u, codes in
                   (("jianli-a", ["LJ-01", "LJ-02", "LJ-03"]), ("jianli-b", ["LJ-04", "LJ-05", "LJ-06", "LJ-07"]),
                    ("jianli-c", ["LJ-08", "LJ-09", "LJ-10"])) for code in codes}
    admin = people["users"]["jingsaiban"]
    teams = {section: code for code, _, _, section in TEAMS}
    # Each section has a character: some are tidier than others, so the months have a shape.
    care = {code: rng.uniform(0.5, 1.6) for code, *_ in SECTIONS}
    items = list(DEDUCTIONS)
    criterion_of = {i: c for c, _, _, its in CRITERIA for i, _, _ in its}
    voided = vetoed = False
    with _progress("demo: three months, day by day", len(days)) as bar:
        for day in days:
            payloads = []
            if day.weekday() < 6:  # inspections Monday to Saturday
                for code, *_ in SECTIONS:
                    if rng.random() < 0.5:
                        continue  # about three inspections a week per section
                    for _ in range(rng.randint(1, 2)):
                        item = rng.choice(items)
                        found = rng.random() < 0.22 * care[code]
                        points = Decimal(rng.choice(["0.5", "0.5", "1", "1", "1.5", "2"])) if found else Decimal("0")
                        payloads.append((code, _entry(day, tz, rng, code, teams.get(code) if rng.random() < 0.5
                                                      else None, criterion_of[item], item, "deduction", points,
                                                      rng.choice(DEDUCTIONS[item]) if found else "检查未发现问题")))
                if day.day in (12, 25):
                    code = rng.choice(SECTIONS)[0]
                    criterion, item, points, note = rng.choice(BONUSES)
                    payloads.append((code, _entry(day, tz, rng, code, teams.get(code), criterion, item, "bonus",
                                                  Decimal(points), note)))
            for code, payload in payloads:
                payload["chainage"] = _stake(places, code)
                if payload["kind"] == "deduction" and payload["points"] > 0 and (today - day).days < PHOTO_DAYS:
                    payload["photos"] = _evidence(competition, supervisors[code], places, payload)
                outcomes = post_entries(competition, supervisors[code], [payload], _load)
                if not voided and day.day >= 8 and outcomes[0].status == "created" and payload["points"] > 0:
                    void_entry(outcomes[0].entry_id, admin, "录入错误：重复录入同一检查记录")
                    voided = True
            if not vetoed and day.month == running.month and day.day >= min(5, today.day):
                _veto(competition, admin, running)
                vetoed = True
            if day.day == 3 and day.replace(day=1) > first:
                close_period(competition, Month.at(day).previous(), actor=admin)
            if day.day == 10 and Month.at(day) == Month.at(first).next():
                _correct_first_month(competition, supervisors, admin, Month.at(first), tz)
            take_daily_snapshot(competition, day)
            db.session.commit()
            bar.update(1)
    if not vetoed:
        _veto(competition, admin, Month.current(competition.timezone, now))
    # A tablet that was offline for weeks: its entry for a closed month arrives late.
    late_day = first + timedelta(days=20)
    post_entries(competition, supervisors["LJ-05"],
                 [_entry(late_day, tz, rng, "LJ-05", None, "safety", "S3", "deduction", Decimal("1"),
                         "离线补传：用电线路私拉乱接")], _load)
    # A commendation from above belongs to no criterion: a general bonus, on top of the five (up to the cap).
    post_entries(competition, admin,
                 [_entry(running.first_day, tz, rng, "LJ-02", None, None, None, "bonus", Decimal("2"),
                         "上级表彰：获评省交通运输厅“平安工地”示范项目")], _load)


LATE_FINDING = "离线补传：高处作业未系安全带"
REOPEN_REASON = "监理平板离线两周，补录上月迟到的安全检查扣分"


def _correct_first_month(competition: Competition, supervisors: dict, admin: User, month: Month,
                         tz: ZoneInfo) -> None:
    """A week after the first month's close, an offline tablet's finding for it arrives late (against the red
    flag's holder); the office reopens the month, counts it and closes it again: edition 2, a 【更正】 report
    with the reason and what changed, queued for every recipient (the 通报 still queued is withdrawn)."""
    rng = random.Random(11)  # of its own, so the season's other draws stay as they were
    holder = db.session.scalar(select(Period).where(Period.competition_id == competition.id, Period.key == month))
    code = holder.flag_section.code if holder.flag_section else "LJ-05"
    payload = _entry(month.first_day + timedelta(days=21), tz, rng, code, None, "safety", "S1", "deduction",
                     Decimal("2"), LATE_FINDING)
    payload["chainage"] = _stake(rng, code)
    post_entries(competition, supervisors[code], [payload], _load)
    reopen_period(competition, month, REOPEN_REASON, actor=admin)
    close_period(competition, month, actor=admin, reason="补录后重新结账")


OVERDUE_PENALTY = "1"
GENERAL_BONUS_CAP = "3"  # 上级表彰 and the like, on top of the five criteria


def _notices(competition: Competition, people: dict, now: datetime, places: random.Random) -> None:
    """Rectification notices in every state (§7): open, answered, rejected back to open, closed, cancelled by a
    void, and one past its deadline with its penalty posted by the overdue job."""
    from .notices.operations import respond, review
    from .scheduler.jobs import overdue_notices

    tz = ZoneInfo(competition.timezone)
    today = now.astimezone(tz).date()
    users = people["users"]
    contractor, supervisor, admin = users["lj03-shigong"], users["jianli-a"], users["jingsaiban"]
    plan = [  # section, days ago, days to fix, item, points, finding, what happens
        ("LJ-03", 1, 5, "S1", "1", "临边防护栏缺失，存在坠落隐患", ()),
        ("LJ-03", 2, 4, "E1", "0.5", "裸土未覆盖，扬尘明显", ("answer",)),
        ("LJ-03", 3, 5, "S3", "1", "配电箱未上锁，无漏电保护", ("answer", "reject")),
        ("LJ-03", 6, 2, "Q1", "1.5", "路基压实度不足，检测不合格", ()),  # overdue: penalised below
        ("LJ-03", 4, 2, "S1", "1", "基坑周边未设警示标志", ("answer", "pass")),
        ("LJ-02", 2, 3, "E1", "0.5", "渣土车未覆盖出场", ("void",)),
    ]
    rng = random.Random(7)
    for section, ago, fix, item, points, finding, steps in plan:
        day = today - timedelta(days=ago)
        payload = _entry(day, tz, rng, section, None, _criterion_of(item), item, "deduction", Decimal(points),
                         finding)
        payload["chainage"] = _stake(places, section)
        payload["rectify_by"] = (day + timedelta(days=fix)).isoformat()
        payload["photos"] = _evidence(competition, supervisor, places, payload)
        (outcome,) = post_entries(competition, supervisor, [payload], _load)
        notice_id = db.session.scalar(select(Notice.id).where(Notice.entry_id == outcome.entry_id))
        for step in steps:
            if step == "answer":
                after = _evidence(competition, contractor, places, {**payload, "note": "整改完成"})
                respond(notice_id, contractor, {"note": "已按要求整改完毕，请复查", "photos": after})
            elif step in ("pass", "reject"):
                review(notice_id, supervisor, {"result": step, "note": "复查合格" if step == "pass"
                                               else "整改不到位，配电箱仍未加装漏电保护器"})
            else:
                void_entry(outcome.entry_id, admin, "误判：该路段属临时便道，不在考核范围")
        db.session.commit()
    overdue_notices(now)


def _criterion_of(item: str) -> str:
    return next(c for c, _, _, its in CRITERIA for i, _, _ in its if i == item)


def _stake(rng: random.Random, section: str) -> str:
    start, end = next((Decimal(s), Decimal(e)) for code, _, s, e, _ in SECTIONS if code == section)
    return format_chainage(rng.randint(int(start * 1000), int(end * 1000)))


def _evidence(competition: Competition, supervisor: User, rng: random.Random, payload: dict) -> list[str]:
    """Photos of the finding's sign (two for the larger ones), uploaded as the API would store them."""
    place = next(f"{code} {code[-2:]}标 {name}" for code, name, *_ in SECTIONS if code == payload["section"])
    ids = []
    for _ in range(2 if payload["points"] >= 2 else 1):
        data = site_photo(rng, chainage=payload["chainage"], section=place, finding=payload["note"],
                          taken=datetime.fromisoformat(payload["observed_at"]), **payload["location"])
        photo_id = photo_id_of(data)
        save_photo(competition.id, competition.timezone, supervisor, photo_id, images.prepare(data))
        ids.append(photo_id)
    return ids


def _veto(competition: Competition, admin: User, period: str) -> None:
    create_veto(competition, admin, {"section": "LJ-07", "team": "TJD-07", "period": period,
                                     "reason": "互通立交施工发生高处坠落事故，1人重伤（一般生产安全事故）"})


def _entry(day: date, tz: ZoneInfo, rng: random.Random, section: str, team: str | None, criterion: str | None,
           item: str | None, kind: str, points: Decimal, note: str) -> dict:
    observed = datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59)), tz)
    return {"client_id": str(uuid.UUID(int=rng.getrandbits(128))), "section": section, "team": team,
            "criterion": criterion, "item": item, "kind": kind, "points": points,
            "observed_at": observed.isoformat(), "note": note,
            "location": {"lat": round(36.45 + rng.uniform(-0.12, 0.12), 5),
                         "lon": round(115.98 + rng.uniform(-0.15, 0.15), 5)}}


def _credentials_path() -> Path:
    return Path(current_app.config.get("DEMO_CREDENTIALS") or Path(current_app.instance_path) / CREDENTIALS)


def _save_credentials(passwords: dict, wall_token: str, competition_id: int) -> None:
    path = _credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"competition": competition_id, "passwords": passwords, "wall_token": wall_token},
                               ensure_ascii=False, indent=2))
    os.chmod(path, 0o600)


def print_access() -> None:
    """How to get in: printed by `make run` after the demo step."""
    path = _credentials_path()
    if not path.exists():
        return
    saved = json.loads(path.read_text())
    if db.session.scalar(select(User.id).where(User.username == "jingsaiban")) is None:
        return  # the credentials belong to another database
    base = f"http://127.0.0.1:{current_app.config['PORT']}"
    cid, pw = saved["competition"], saved["passwords"]
    click.echo("")
    click.echo(f"  admin login    jingsaiban / {pw['jingsaiban']}   (POST {base}/api/v1/auth/token)")
    click.echo(f"  supervisor     jianli-a / {pw['jianli-a']}   (sections LJ-01, LJ-02, LJ-03)")
    click.echo(f"  tablet app     {base}/app/   (log in as jianli-a)")
    click.echo(f"  viewer         lishurong / {pw['lishurong']}")
    if "lj03-shigong" in pw:
        click.echo(f"  contractor     lj03-shigong / {pw['lj03-shigong']}   (LJ-03 顾官屯镇段: 整改通知 in the app)")
    click.echo(f"  wall display   {base}/wall/{cid}?token={saved['wall_token']}")
    click.echo(f"  API docs       {base}/api/docs")
    click.echo(f"  (kept in {path})")
    click.echo("")
