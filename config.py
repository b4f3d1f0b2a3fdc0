"""Settings from the environment (and an optional `.env`).

Every setting is read and checked here, once, at start-up: a missing or malformed one raises
`ConfigError` with one line naming it, and `wsgi.py` / `gunicorn.conf.py` stop on that line.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it."""


def _load_dotenv() -> None:
    path = ROOT / ".env"
    if path.exists():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def _int(env, name: str, default: int, low: int = 0, high: int = 10**9) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={raw!r} must be between {low} and {high}")
    return value


def _bool(env, name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a yes/no value (use 1/0, true/false)")


def _database_url(env) -> str:
    url = env.get("DATABASE_URL")
    if not url:
        (ROOT / "instance").mkdir(exist_ok=True)
        return f"sqlite:///{ROOT / 'instance' / 'scoring.db'}"
    scheme = url.split(":", 1)[0]
    if scheme not in ("sqlite", "postgresql", "postgresql+psycopg"):
        raise ConfigError(
            f"DATABASE_URL has scheme {scheme!r}; use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
        )
    if scheme == "postgresql":  # plain postgresql:// would pick psycopg2, which we do not ship
        url = "postgresql+psycopg" + url[len("postgresql"):]
    return url


def _smtp_url(env) -> str | None:
    url = env.get("SMTP_URL")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtp+starttls", "smtps") or not parts.hostname:
        raise ConfigError(
            f"SMTP_URL={url!r} must look like smtp://user:pass@host:port, smtp+starttls://… or smtps://…"
        )
    if not _port_ok(parts):
        raise ConfigError(f"SMTP_URL={url!r} has a malformed port")
    return url


def _port_ok(parts) -> bool:
    try:
        _ = parts.port  # urlsplit checks the port only when asked
    except ValueError:
        return False
    return True


# Bucket names as S3 allows them (3-63 lowercase letters, digits, dots and hyphens).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _photo_store(env) -> tuple[str, str | None]:
    """PHOTO_STORE (`database`, or `s3://bucket/prefix`) and S3_ENDPOINT_URL, checked together."""
    store = (env.get("PHOTO_STORE") or "database").strip()
    endpoint = (env.get("S3_ENDPOINT_URL") or "").strip() or None
    if store == "database":
        if endpoint:
            raise ConfigError("S3_ENDPOINT_URL is set but PHOTO_STORE is not s3://BUCKET/PREFIX; "
                              "photos would stay in the database")
        return store, None
    parts = urlsplit(store)
    if parts.scheme != "s3" or not _BUCKET.fullmatch(parts.netloc) or parts.query or parts.fragment:
        raise ConfigError(f"PHOTO_STORE={store!r} must be database or s3://BUCKET/PREFIX "
                          "(a bucket name of lowercase letters, digits, '.' and '-')")
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname or not _port_ok(parts):
            raise ConfigError(f"S3_ENDPOINT_URL={endpoint!r} must look like https://s3.example.org[:PORT]")
    return store, endpoint


def _public_url(env) -> str | None:
    url = env.get("PUBLIC_URL")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not _port_ok(parts) or parts.username \
            or parts.query or parts.fragment or re.search(r"\s", url):
        raise ConfigError(f"PUBLIC_URL={url!r} must look like https://scoring.example.org (a path prefix is allowed)")
    return url.rstrip("/")


def _clock(env, name: str, default: str) -> str:
    raw = env.get(name) or default
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", raw):
        raise ConfigError(f"{name}={raw!r} must be a time of day HH:MM")
    return raw


def load(env=None) -> dict:
    """Read the settings; raises ConfigError naming the first bad one."""
    if env is None:
        _load_dotenv()
        env = os.environ
    level = (env.get("LOG_LEVEL") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"LOG_LEVEL={level!r} must be one of DEBUG, INFO, WARNING, ERROR")
    mail_from = env.get("MAIL_FROM") or "五比五赛 <scoring@localhost>"
    if "@" not in mail_from:
        raise ConfigError(f"MAIL_FROM={mail_from!r} is not an e-mail address")
    tz = env.get("DEFAULT_TIMEZONE") or "Asia/Shanghai"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"DEFAULT_TIMEZONE={tz!r} is not a known time zone") from None
    secret = env.get("SECRET_KEY") or ""
    if secret and len(secret) < 16:
        raise ConfigError("SECRET_KEY is shorter than 16 characters")
    origins = [o.strip() for o in (env.get("CORS_ORIGINS") or "").split(",") if o.strip()]
    for origin in origins:
        if not re.fullmatch(r"https?://[^/\s]+", origin):
            raise ConfigError(f"CORS_ORIGINS has {origin!r}; list origins like https://tablets.example.org")
    photo_store, s3_endpoint = _photo_store(env)
    return {
        "SQLALCHEMY_DATABASE_URI": _database_url(env),
        "PORT": _int(env, "PORT", 8000, 1, 65535),
        # Tokens are random and stored hashed, so the key only signs nothing critical; a random one
        # per start is fine when unset.
        "SECRET_KEY": secret or os.urandom(24).hex(),
        "SMTP_URL": _smtp_url(env),
        "MAIL_FROM": mail_from,
        "SCHEDULER_ENABLED": _bool(env, "SCHEDULER_ENABLED", True),
        "SCHEDULER_INTERVAL": _int(env, "SCHEDULER_INTERVAL", 30, 1, 3600),
        "AUTO_CLOSE_DAY": _int(env, "AUTO_CLOSE_DAY", 3, 0, 28),  # 0: new competitions close by hand
        "AUTO_CLOSE_TIME": _clock(env, "AUTO_CLOSE_TIME", "00:30"),
        "SNAPSHOT_TIME": _clock(env, "SNAPSHOT_TIME", "23:50"),
        "CHECK_TIME": _clock(env, "CHECK_TIME", "03:00"),
        "DIGEST_TIME": _clock(env, "DIGEST_TIME", "18:00"),
        "LOG_LEVEL": level,
        "DEFAULT_TIMEZONE": tz,
        "TOKEN_TTL_HOURS": _int(env, "TOKEN_TTL_HOURS", 24 * 30, 1, 24 * 3650),
        "LOGIN_MAX_FAILURES": _int(env, "LOGIN_MAX_FAILURES", 5, 1, 1000),
        # Failed logins from one address, whatever the names: a stranger trying many accounts.
        "LOGIN_MAX_FAILURES_PER_ADDRESS": _int(env, "LOGIN_MAX_FAILURES_PER_ADDRESS", 20, 1, 10000),
        # How many reverse proxies in front of gunicorn add X-Forwarded-For (nginx: 1). 0 ignores the
        # header, so a client cannot forge its address past the login limit.
        "TRUSTED_PROXIES": _int(env, "TRUSTED_PROXIES", 0, 0, 10),
        "LOGIN_WINDOW_SECONDS": _int(env, "LOGIN_WINDOW_SECONDS", 900, 1, 86400),
        "MAX_CONTENT_LENGTH": _int(env, "MAX_BODY_BYTES", 2 * 1024 * 1024, 1024, 100 * 1024 * 1024),
        "CORS_ORIGINS": origins,
        "PHOTO_STORE": photo_store,
        "S3_ENDPOINT_URL": s3_endpoint,
        # The address people and tablets reach the service at (behind the proxy), for links the service
        # writes; without it, links are relative to the request.
        "PUBLIC_URL": _public_url(env),
        # werkzeug's scrypt: slow on purpose. Tests swap in a cheap salted hash (as Django's
        # test settings do); production never sets this.
        "PASSWORD_HASH_METHOD": "scrypt",
    }
