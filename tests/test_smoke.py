from conftest import entry


def test_post_and_read_board(client, world):
    r = client.post(world.url("/entries"), json=entry(points=1.5), headers=world.headers("sup1"))
    assert r.status_code == 201, r.get_json()
    board = client.get(world.url("/leaderboard?period=2026-11"), headers=world.headers("wall")).get_json()
    assert board["rows"][0]["code"] == "LJ-01"
    assert board["rows"][0]["total"] == 98.5


def test_live_server_answers(live_server):
    import requests

    assert requests.get(live_server.url + "/healthz", timeout=5).json()["database"] == "ok"
