"""A missing or malformed setting stops start-up with one line naming it."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("name,value", [
    ("DATABASE_URL", "mysql://root@localhost/x"),
    ("PORT", "eighty"),
    ("SMTP_URL", "http://mail.example.org"),
    ("LOG_LEVEL", "LOUD"),
    ("SCHEDULER_ENABLED", "perhaps"),
    ("AUTO_CLOSE_TIME", "25:00"),
    ("TRUSTED_PROXIES", "nginx"),
])
def test_bad_setting_stops_flask_with_one_line(name, value):
    env = {**os.environ, name: value}
    result = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "routes"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in result.stderr


def test_bad_setting_stops_gunicorn_with_one_line():
    env = {**os.environ, "PORT": "0x50"}
    result = subprocess.run([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "PORT" in result.stderr and "Traceback" not in result.stderr
