"""The wall page as served: who may open it, what it refuses, and that it escapes what users typed."""
from conftest import competition_body

SVG_NAMESPACE = "http://www.w3.org/2000/svg"


def wall_url(world, who="wall", cid=None):
    return f"/wall/{cid or world.cid}?token={world.tokens[who]}"


def test_display_token_gets_the_page(client, world):
    response = client.get(wall_url(world))
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "市大外环五比五赛" in html
    assert "标段排行榜" in html and "党员突击队排行榜" in html
    for label in ("质量", "安全", "进度", "环保", "管理"):
        assert label in html
    assert "流动红旗" in html


def test_page_is_self_contained_and_locked_down(client, world):
    response = client.get(wall_url(world))
    html = response.get_data(as_text=True)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    # Nothing from the internet: the office network may have none.
    assert "http://" not in html and "https://" not in html
    assert "<script>" not in html  # no inline script (the CSP would block it anyway)
    for asset in ("/wall-static/wall.js", "/wall-static/wall.css"):
        assert asset in html
        static = client.get(asset)
        assert static.status_code == 200
        text = static.get_data(as_text=True).replace(SVG_NAMESPACE, "")  # a name, never fetched
        assert "http://" not in text and "https://" not in text and "@import" not in text
        static.close()


def test_stylesheet_names_the_chinese_fonts(client):
    css = client.get("/wall-static/wall.css").get_data(as_text=True)
    for font in ('"Microsoft YaHei"', '"PingFang SC"', '"Noto Sans CJK SC"', '"WenQuanYi Micro Hei"'):
        assert font in css


def test_script_puts_data_in_with_text_content_only(client):
    js = client.get("/wall-static/wall.js").get_data(as_text=True)
    assert "innerHTML" not in js and "outerHTML" not in js and "insertAdjacentHTML" not in js
    assert "If-None-Match" in js and "Authorization" in js


def test_only_a_display_token_opens_the_wall(client, world):
    """An office token in a kiosk's address bar ends up in proxy logs: admin, viewer and supervisor
    tokens get the Chinese page that says how to make a display token instead."""
    for who in ("admin", "viewer", "sup1"):
        response = client.get(wall_url(world, who))
        assert response.status_code == 403, who
        assert response.mimetype == "text/html"
        html = response.get_data(as_text=True)
        assert "此令牌不能用于大屏显示" in html and "显示（display）令牌" in html
        assert f"users create wall-{world.cid} --role display --competition {world.cid}" in html
        assert "市大外环" not in html and "标段排行榜" not in html  # no board for an office token


def test_missing_token_gets_a_chinese_401_page(client, world):
    response = client.get(f"/wall/{world.cid}")
    assert response.status_code == 401
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "缺少显示令牌" in html and "请联系竞赛办" in html
    assert "Traceback" not in html
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_wrong_token_gets_a_chinese_401_page(client, world):
    response = client.get(f"/wall/{world.cid}?token=not-a-real-token")
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "显示令牌无效或已撤销" in html and "请联系竞赛办重新生成" in html
    assert "市大外环" not in html  # nothing about the competition leaks


def test_revoked_token_stops_working_at_once(client, world):
    assert client.get(wall_url(world)).status_code == 200
    assert client.post("/api/v1/auth/token/revoke", headers=world.headers("wall")).status_code in (200, 204)
    response = client.get(wall_url(world))
    assert response.status_code == 401
    assert "显示令牌无效或已撤销" in response.get_data(as_text=True)


def test_display_token_of_another_competition_is_refused(client, world):
    other = client.post("/api/v1/competitions", json=competition_body(name="另一个竞赛"), headers=world.headers())
    assert other.status_code == 201
    response = client.get(wall_url(world, cid=other.get_json()["id"]))
    assert response.status_code == 403
    assert "属于另一个竞赛" in response.get_data(as_text=True)


def test_unknown_competition_is_a_404_page(client, world):
    response = client.get(f"/wall/9999?token={world.tokens['wall']}")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "没有这个竞赛" in response.get_data(as_text=True)


def test_competition_name_is_escaped(client, world):
    hostile = '<script>alert("x")</script>&'
    response = client.post("/api/v1/competitions", json=competition_body(name=hostile, organizer="<b>办</b>"),
                           headers=world.headers())
    assert response.status_code == 201
    cid = response.get_json()["id"]
    created = client.post("/api/v1/users", json={"username": "wall3", "password": "password-wall3",
                                                  "role": "display", "competition": cid}, headers=world.headers())
    assert created.status_code == 201
    token = created.get_json()["token"]
    html = client.get(f"/wall/{cid}?token={token}").get_data(as_text=True)
    assert hostile not in html and "<b>办</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;" in html
    assert "&lt;b&gt;办&lt;/b&gt;" in html


# -- a wall that stays on (issue 13, point 2) --------------------------------------------------------------

def printed_command(html: str) -> list[str]:
    """The command the error page tells the office to run, as `flask --app wsgi` arguments."""
    import html as entities
    import re

    command = entities.unescape(re.search(r'<code data-test="command">([^<]+)</code>', html).group(1)).split()
    assert command[:3] == ["flask", "--app", "wsgi"], command
    return command[3:]


def run_printed(runner, args: list[str]) -> str:
    """Run the printed command; the wall path it prints."""
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    path = result.output.strip().splitlines()[-1].split("http://HOST:PORT", 1)[1]
    assert path.startswith("/wall/")
    return path


def test_a_display_token_outlives_every_other_token(client, world, clock):
    from datetime import timedelta

    from scoring.clock import utcnow

    clock.move_to(utcnow() + timedelta(days=400))
    assert client.get(wall_url(world)).status_code == 200
    assert client.get("/api/v1/competitions", headers=world.headers("viewer")).status_code == 401


def test_the_error_pages_advice_works_as_printed(client, world, runner):
    assert client.post(f"/api/v1/users/{_user_id(client, world, 'wall')}/tokens/revoke",
                       headers=world.headers()).status_code == 200
    response = client.get(wall_url(world))
    assert response.status_code == 401
    args = printed_command(response.get_data(as_text=True))
    assert args == ["users", "token", "wall"]
    path = run_printed(runner, args)
    assert client.get(path).status_code == 200
    assert client.get(wall_url(world)).status_code == 401  # the revoked one stays revoked

    # A competition without a display user: the page says how to make one, and that works too.
    other = client.post("/api/v1/competitions", json=competition_body(name="另一个竞赛"), headers=world.headers())
    cid = other.get_json()["id"]
    args = printed_command(client.get(f"/wall/{cid}").get_data(as_text=True))
    assert args[:2] == ["users", "create"]
    path = run_printed(runner, args)
    assert path.startswith(f"/wall/{cid}?token=") and client.get(path).status_code == 200
    assert printed_command(client.get(f"/wall/{cid}").get_data(as_text=True))[:2] == ["users", "token"]


def test_users_token_refuses_an_unknown_name_and_can_revoke_the_lost_ones(client, world, runner, api):
    before = api.stored()
    result = runner.invoke(args=["users", "token", "nobody"])
    assert result.exit_code != 0 and "nobody" in result.output and "Traceback" not in result.output
    assert api.stored() == before
    path = run_printed(runner, ["users", "token", "wall", "--revoke-others"])
    assert client.get(path).status_code == 200 and client.get(wall_url(world)).status_code == 401


def _user_id(client, world, name: str) -> int:
    users = client.get("/api/v1/users", headers=world.headers()).get_json()
    return next(u["id"] for u in users if u["username"] == name)
