"""Request and response hooks: the SQLite read path, security headers, CORS, the docs' assets."""
from __future__ import annotations

import logging
import re
from functools import wraps
from pathlib import Path

from flask import Flask, g, request, send_from_directory
from flask.sessions import SessionInterface
from flask_cors import CORS
from sqlalchemy.exc import DBAPIError
from werkzeug.routing import IntegerConverter

from .api import problem_response
from .extensions import db, sqlite_read_only
from .month import MailedConverter, MonthConverter, mailed_param_schema, month_param_schema

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_ID = 2**31 - 1  # ids are INTEGER columns; a larger one in a URL is simply not there
# A JSON escape that may stand for text no database stores: NUL, or half of a surrogate pair.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
log = logging.getLogger(__name__)


class IdConverter(IntegerConverter):
    """`<int:…>` in routes: 0 … 2^31-1, so a huge id is a 404, not an overflow in the database."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(url_map, fixed_digits, min, max, signed)


class NoCookieSession(SessionInterface):
    """Callers authenticate with a bearer token on every request and nothing reads or writes Flask's
    cookie session, so none is opened (Flask's default builds a signing serializer and looks for the
    cookie on every request, a few percent of a wall poll answered 304) and none is saved. Writing to
    `flask.session` raises (Flask's NullSession)."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response):
        return None


def init_app(app: Flask, api=None) -> None:
    from flask_smorest.spec.plugins import integerconverter2paramschema

    app.session_interface = NoCookieSession()
    # Closed unless CORS_ORIGINS lists the origin (a tablet web app served from elsewhere); flask-cors reads it.
    CORS(app, expose_headers=["ETag", "X-Total-Count", "Link"], methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
         allow_headers=["Authorization", "Content-Type", "If-None-Match"], max_age=600)
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["month"] = MonthConverter
    app.url_map.converters["mailed"] = MailedConverter
    if api is not None:
        api.register_converter(IdConverter, integerconverter2paramschema)
        api.register_converter(MonthConverter, month_param_schema)
        api.register_converter(MailedConverter, mailed_param_schema)

    @app.before_request
    def mark_read_only():
        g.sqlite_read_only = sqlite_read_only.set(request.method in SAFE_METHODS)

    @app.teardown_request
    def unmark_read_only(_error):
        # Work after the request in this thread (a command, a test) starts writable transactions again.
        if "sqlite_read_only" in g:
            sqlite_read_only.reset(g.pop("sqlite_read_only"))

    @app.teardown_appcontext
    def close_session(_error):
        # Runs before Flask-SQLAlchemy's own teardown (teardowns run last registered first). A request
        # that ends inside a transaction (every read, a refused write) rolls it back here; when the
        # connection died after the answer was made (PostgreSQL restarting), that ROLLBACK fails, and
        # raised from a teardown it would replace the answer with the server's HTML 500. A dead
        # connection has nothing to undo: it is discarded, and the answer goes out as made.
        try:
            db.session.remove()
        except DBAPIError as error:
            log.warning("database connection lost after the answer was made: %s", error.orig)
            db.session().invalidate()  # the session that failed to close is still the current one
            db.session.remove()

    @app.before_request
    def refuse_unstorable_text():
        # PostgreSQL text cannot hold NUL, and no database stores half a surrogate pair: refuse both,
        # the same on either database, before anything is stored.
        if "\x00" in request.full_path or "%00" in request.query_string.decode("latin-1"):
            return problem_response(422, "Text must not contain NUL characters.",
                                    {"url": ["Must not contain NUL characters."]})
        if not request.is_json:
            return None
        # Whatever the framing (Content-Length or chunked): the body as it will be decoded. Only a body
        # with a \u escape of NUL or a surrogate, or a NUL byte, can hold such text; those are decoded
        # here as every JSON body is (UTF-8, RFC 8259). A NUL byte means UTF-16 or -32, which Python's
        # json would otherwise read, and this check would not see through.
        body = request.get_data(cache=True)
        if b"\x00" in body or _SUSPECT_ESCAPE.search(body):
            try:
                document = app.json.loads(body)
            except ValueError:
                return problem_response(400, "The body is not valid JSON in UTF-8.")
            if not _storable(document):
                return problem_response(422, "Text must not contain NUL characters or unpaired surrogates.",
                                        {"body": ["Must not contain NUL characters or unpaired surrogates."]})
        return None

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        if request.method == "OPTIONS" and request.headers.get("Origin") in app.config["CORS_ORIGINS"]:
            headers.add("Vary", "Origin")  # flask-cors leaves it off a preflight's answer
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith("/api/"):
            # Tokens, entries, exports and reports are nobody else's: no proxy or browser cache keeps
            # them. A response that may be cached says so itself (the leaderboard: no-cache + ETag).
            headers.setdefault("Cache-Control", "no-store")
        if request.path.startswith("/api/docs"):
            headers.setdefault("Content-Security-Policy",
                               "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self' 'unsafe-inline'")
        else:
            headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        return response

    @app.errorhandler(RecursionError)
    def too_deep(_error):
        return problem_response(400, "The JSON body is nested too deeply.")

    try:
        import swagger_ui_bundle

        assets = Path(swagger_ui_bundle.swagger_ui_path)
    except ImportError:  # pragma: no cover - it is in requirements.txt
        assets = None

    @app.get("/api/docs/assets/<path:name>")
    def docs_assets(name):
        if assets is None:
            return problem_response(404, "The Swagger UI assets are not installed.")
        return send_from_directory(assets, name, max_age=86400)


def commit_writes(app: Flask) -> None:
    """The one place a request commits: a view of a write method that returns (whatever it answers)
    commits; one that raises commits nothing (the session is rolled back when the request ends).
    Operations and views never commit. Call it after every blueprint is registered."""
    for endpoint, view in app.view_functions.items():
        app.view_functions[endpoint] = _committing(view)


def _committing(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        response = view(*args, **kwargs)
        if request.method not in SAFE_METHODS:
            db.session.commit()
        return response

    return wrapper


def body_limit(max_bytes: int):
    """A route that takes larger bodies than MAX_BODY_BYTES (a photo): its own request's limit, so
    the JSON routes keep theirs. Put it above the other decorators: it must run before the body is read."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            request.max_content_length = max_bytes
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _storable(document) -> bool:
    """Every string (keys too) of a parsed JSON document is text a database can store."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            if "\x00" in value:
                return False
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True
