"""The HTTP conventions of CONTRACT.md §2: problem+json errors, JSON numbers, pagination."""
from __future__ import annotations

import json
import logging
from decimal import Decimal
from urllib.parse import urlencode

import marshmallow as ma
from flask import current_app, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api as _Api
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from .errors import Problem
from .extensions import db
from .types import json_default

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem_response(status: int, detail: str | None = None, errors: dict | None = None, headers=None):
    body = {
        "type": "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail or HTTP_STATUS_CODES.get(status, "Error"),
    }
    if errors:
        body["errors"] = errors
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _flatten_messages(messages) -> dict:
    """webargs nests errors by location ({"json": {"points": [...]}}); clients want field names."""
    if isinstance(messages, dict):
        flat: dict = {}
        for location, errors in messages.items():
            if location in ("json", "query", "form", "querystring", "headers", "view_args"):
                if isinstance(errors, dict):
                    flat.update(errors)
                else:
                    flat.setdefault("_body", []).extend(errors if isinstance(errors, list) else [errors])
            else:
                flat[location] = errors
        return flat
    return {"_body": messages if isinstance(messages, list) else [messages]}


class QueryArgsParser(FlaskParser):
    """Query arguments validated once per distinct query string and schema, then served from a small
    per-process cache: a wall display polls the same URL all day, and the answer depends on nothing
    else. Only valid arguments are kept (an invalid query string is refused every time). The schema
    must be an instance (built once) and load immutable values: each call gets a shallow copy."""

    SIZE = 256

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._parsed: dict[tuple, dict] = {}

    def parse(self, argmap, req=None, *, location=None, **kwargs):
        if location != "query" or not isinstance(argmap, ma.Schema) or kwargs.get("validate") is not None:
            return super().parse(argmap, req, location=location, **kwargs)
        key = (id(argmap), kwargs.get("unknown"), request.query_string)
        hit = self._parsed.get(key)
        if hit is None:
            hit = super().parse(argmap, req, location=location, **kwargs)
            if len(self._parsed) >= self.SIZE:
                self._parsed.clear()
            self._parsed[key] = hit
        return dict(hit)


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error is answered."""

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    errors = ma.fields.Dict()


class Api(_Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        # flask-smorest documents errors as application/json; ours are application/problem+json.
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM
        try:
            super()._register_responses()
        finally:
            del self.DEFAULT_RESPONSE_CONTENT_TYPE

    def _register_error_handlers(self):
        self._app.register_error_handler(HTTPException, self.handle_http_exception)
        self._app.register_error_handler(Problem, lambda e: problem_response(e.status, e.detail, e.errors, e.headers))
        self._app.register_error_handler(ma.ValidationError, self.handle_validation_error)
        self._app.register_error_handler(Exception, self.handle_unexpected)

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        errors = _flatten_messages(data["messages"]) if "messages" in data else None
        status = error.code or 500
        if status == 400 and errors and "_body" in errors:
            detail = "The body is not valid JSON."
            errors = None
        elif status == 422:
            detail = "Some fields are invalid: " + ", ".join(sorted(errors or {}))
        else:
            detail = data.get("message") or error.description
        headers = dict(data.get("headers") or {})
        if status == 405 and error.get_response().headers.get("Allow"):
            headers["Allow"] = error.get_response().headers["Allow"]
        if status >= 500:
            detail = HTTP_STATUS_CODES.get(status)
        return problem_response(status, detail, errors, headers)

    def handle_validation_error(self, error: ma.ValidationError):
        """A schema loaded inside a view (not through @arguments) found invalid fields."""
        errors = _flatten_messages(error.messages)
        return problem_response(422, "Some fields are invalid: " + ", ".join(sorted(errors)), errors)

    def handle_unexpected(self, error: Exception):
        on_postgresql = current_app.config.get("SQLALCHEMY_DATABASE_URI", "").startswith("postgresql")
        if (isinstance(error, DBAPIError) and error.connection_invalidated
                or isinstance(error, OperationalError) and on_postgresql):
            log.warning("database unavailable: %s", error)
            return problem_response(503, "The database is unavailable; try again shortly.",
                                    headers={"Retry-After": "5"})
        if isinstance(error, DataError):  # the database refused a value the schemas let through
            log.warning("value refused by the database on %s %s: %s", request.method, request.path, error.orig)
            return problem_response(422, "A value is out of range or malformed.")
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(500, InternalServerError.description)


class JSONProvider(DefaultJSONProvider):
    """Chinese stays Chinese; points are JSON numbers, read and written exactly."""

    ensure_ascii = False
    sort_keys = False

    @staticmethod
    def default(o):
        return json_default(o, DefaultJSONProvider.default)

    def loads(self, s, **kwargs):
        kwargs.setdefault("parse_float", Decimal)
        if isinstance(s, bytes | bytearray):  # UTF-8 only (RFC 8259), strictly: no lone surrogates
            s = s.decode("utf-8")
        return super().loads(s, **kwargs)


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))


def paginate(stmt, args: dict):
    """Run a select for one page; returns (rows, headers with X-Total-Count and Link)."""
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique().all()
    last = max(1, -(-total // per_page))
    query = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}
    # Never from the request's Host header, which anyone can forge: from PUBLIC_URL, or relative.
    base = (current_app.config["PUBLIC_URL"] or request.script_root) + request.path

    def link(p: int, rel: str) -> str:
        return f'<{base}?{urlencode({**query, "page": p, "per_page": per_page})}>; rel="{rel}"'

    links = [link(1, "first"), link(last, "last")]
    if page > 1:
        links.append(link(page - 1, "prev"))
    if page < last:
        links.append(link(page + 1, "next"))
    return rows, {"X-Total-Count": str(total), "Link": ", ".join(links)}

