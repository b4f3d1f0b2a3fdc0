"""The wall display: one self-contained page for the big screen in the project office.

The page itself holds no scores: its script polls the leaderboard API (with If-None-Match) using the
display token from the URL, so the numbers always come from `standings.operations`. A wall screen has no
login, hence the token in the URL (CONTRACT.md §3); it is checked here before anything is served.
"""
from flask import Blueprint, make_response, render_template, request
from sqlalchemy import select

from ..auth.access import user_for_token
from ..auth.models import User
from ..competitions.models import Competition
from ..extensions import db

bp = Blueprint("wall", __name__, template_folder="templates", static_folder="static",
               static_url_path="/wall-static")

POLL_SECONDS = 5

# Everything the page loads comes from this app; no inline script, no CDN, no external fonts.
CSP = ("default-src 'self'; connect-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

CONTACT = "请联系竞赛办重新生成显示地址"
# What the office runs to make a wall token (CONTRACT.md §3: an office token never sits in a kiosk URL).
MAKE_DISPLAY = "flask --app wsgi users create wall-{cid} --role display --competition {cid}"


@bp.get("/wall/<int:cid>")
def wall(cid):
    user = user_for_token(request.args.get("token"))
    if user is None:
        if request.args.get("token"):
            return _error(cid, 401, "显示令牌无效或已撤销", f"这个地址里的显示令牌无效或已撤销 — {CONTACT}。")
        return _error(cid, 401, "缺少显示令牌", f"地址中缺少 ?token=… 显示令牌 — {CONTACT}。")
    if user.role != "display":
        # An admin's, viewer's or supervisor's token in a kiosk's address bar ends up in proxy logs.
        return _error(cid, 403, "此令牌不能用于大屏显示",
                      f"大屏只接受本竞赛的显示（display）令牌，{user.role} 角色的令牌不能打开大屏。"
                      f"请联系竞赛办为这块屏幕建一个显示用户：{MAKE_DISPLAY.format(cid=cid)}，"
                      f"再用它打印的令牌打开 /wall/{cid}?token=令牌。")
    competition = db.session.get(Competition, cid)
    if competition is None:
        return _error(cid, 404, "没有这个竞赛", f"编号为 {cid} 的竞赛不存在 — 请核对大屏地址。")
    if user.competition_id != cid:
        return _error(cid, 403, "显示令牌不属于这个竞赛", f"这个显示令牌属于另一个竞赛 — {CONTACT}。")
    return _page(render_template("wall/wall.html", competition=competition, poll_seconds=POLL_SECONDS), 200)


def _error(cid: int, status: int, title: str, detail: str):
    """The error page, with the command that mends it as the office types it: a new token for the
    competition's display user, or, when it has none yet, the command that makes one."""
    display = db.session.scalar(select(User.username).where(User.role == "display", User.competition_id == cid)
                                .order_by(User.id).limit(1))
    page = render_template("wall/error.html", cid=cid, status=status, title=title, detail=detail, display=display)
    response = _page(page, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="wall"'
    return response


def _page(html: str, status: int):
    response = make_response(html, status)
    response.headers["Content-Security-Policy"] = CSP
    # The URL carries the token: keep the page out of caches (Referrer-Policy no-referrer is global).
    response.headers["Cache-Control"] = "no-store"
    return response
