"""The login limit (CONTRACT.md §3 auth/token): per (username, client address) and per client address,
atomic across gunicorn workers, with the client address believed from X-Forwarded-For only through
TRUSTED_PROXIES — tested through the app, a real gunicorn, and a real nginx in front of it."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from conftest import LiveServer, free_port
from requests.adapters import HTTPAdapter
from sqlalchemy import func, select

from scoring.auth.models import LoginFailure
from scoring.clock import utcnow
from scoring.extensions import db

TOKEN = "/api/v1/auth/token"


def at(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_one_address_guessing_many_names_is_throttled_as_an_address(app, world, api, login):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 8
    for n in range(8):
        api.problem(login(f"nobody{n}", "guess", **at("10.9.9.9")), 401)
    for username, password in (("nobody99", "guess"), ("viewer", "password-viewer")):
        answer = login(username, password, **at("10.9.9.9"))
        api.problem(answer, 429)
        assert int(answer.headers["Retry-After"]) > 0
    # Everyone elsewhere logs in as before.
    assert login("viewer", "password-viewer", **at("10.9.9.10")).status_code == 200
    assert login("admin", "password-admin").status_code == 200


def test_right_passwords_do_not_use_up_the_address_limit(app, world, api, login):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    for _ in range(10):  # a whole office logging in through one address, all day
        assert login("viewer", "password-viewer").status_code == 200
    api.problem(login("viewer", "typo"), 401)
    assert login("viewer", "password-viewer").status_code == 200


def test_the_window_passes(app, world, api, login, clock):
    clock.move_to(utcnow())
    for _ in range(5):
        api.problem(login("admin", "guess"), 401)
    api.problem(login("admin", "password-admin"), 429)
    clock.shift(app.config["LOGIN_WINDOW_SECONDS"] + 1)
    assert login("admin", "password-admin").status_code == 200


def test_a_forged_forwarded_for_is_ignored_without_trusted_proxies(app, world, api, login):
    assert app.config["TRUSTED_PROXIES"] == 0
    for n in range(5):
        api.problem(login("admin", "guess", headers={"X-Forwarded-For": f"10.0.0.{n}"}), 401)
    api.problem(login("admin", "guess", headers={"X-Forwarded-For": "10.0.0.77"}), 429)
    entries = api.audit("?action=token.created")
    assert login("viewer", "password-viewer", headers={"X-Forwarded-For": "10.0.0.78"}).status_code == 200
    assert api.audit("?action=token.created")[len(entries):][0]["address"] == "127.0.0.1"


def test_a_parallel_burst_of_failures_cannot_exceed_the_limit(app, world, database_url):
    """20 wrong passwords at once over 4 gunicorn workers: exactly 5 are checked (401), the rest 429."""
    server = LiveServer(database_url, workers=4).start()
    try:
        def attempt(_):
            return requests.post(server.url + TOKEN, json={"username": "admin", "password": "guess"}, timeout=60)

        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(attempt, range(20)))
    finally:
        server.stop()
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * 5 + [429] * 15, statuses
    assert all(int(a.headers["Retry-After"]) > 0 for a in answers if a.status_code == 429)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 5


# -- behind a real nginx -----------------------------------------------------------------------------

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

NGINX_CONF = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    access_log {dir}/access.log;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


class SourceAddressAdapter(HTTPAdapter):
    """A requests session whose connections leave from one loopback address (127.0.0.2, …)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_at(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", SourceAddressAdapter(address))
    return session


@pytest.fixture
def nginx(tmp_path, database_url):
    """gunicorn (TRUSTED_PROXIES=1) behind Debian's nginx, both on free ports; yields nginx's URL."""
    if not os.access(NGINX, os.X_OK):
        pytest.fail("nginx is missing: `make system-deps` installs nginx-light")
    server = LiveServer(database_url, env={"TRUSTED_PROXIES": "1"}).start()
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=tmp_path, port=port, upstream=server.port))
    process = subprocess.Popen([NGINX, "-c", str(conf), "-e", str(tmp_path / "error.log")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start: {(tmp_path / 'error.log').read_text()[-2000:]}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        server.stop()


def test_behind_nginx_a_stranger_locks_out_only_himself(app, world, nginx):
    stranger, office, site = client_at("127.0.0.2"), client_at("127.0.0.3"), client_at("127.0.0.4")

    def log_in(session, username, password):
        return session.post(nginx + TOKEN, json={"username": username, "password": password}, timeout=30)

    # Forging X-Forwarded-For does not help: nginx appends the real address and only that one is believed.
    for n in range(5):
        answer = stranger.post(nginx + TOKEN, json={"username": "admin", "password": "guess"},
                               headers={"X-Forwarded-For": f"10.0.0.{n}"}, timeout=30)
        assert answer.status_code == 401
    refused = log_in(stranger, "admin", "password-admin")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # The admin in the office and a supervisor on site, behind the same proxy, still log in.
    assert log_in(office, "admin", "password-admin").status_code == 200
    assert log_in(site, "sup1", "password-sup1").status_code == 200
    admin = {"Authorization": f"Bearer {world.tokens['admin']}"}
    events = office.get(nginx + world.url("/audit?action=token.created&per_page=500"), headers=admin, timeout=30).json()
    addresses = {(e["actor"], e["address"]) for e in events}
    assert {("admin", "127.0.0.3"), ("sup1", "127.0.0.4")} <= addresses
    with app.app_context():
        failures = db.session.execute(select(LoginFailure.username, LoginFailure.address)).all()
    assert set(failures) == {("admin", "127.0.0.2")}
