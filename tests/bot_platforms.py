"""A local HTTP server that plays the three group-bot platforms, as their documentation describes them.

- WeCom: POST /cgi-bin/webhook/send?key=KEY → {"errcode", "errmsg"}; 93000 for an unknown key,
  45009 past 20 messages a minute.
- DingTalk: POST /robot/send?access_token=TOKEN[&timestamp=&sign=] → {"errcode", "errmsg"}; 300001 for an
  unknown token, 310000 when the signature (HMAC-SHA256 of "timestamp\\nsecret" keyed with the secret, in
  milliseconds, at most an hour old) does not match, 130101 past 20 a minute (and the bot blocked 10 minutes).
- Feishu: POST /open-apis/bot/v2/hook/TOKEN, "timestamp" and "sign" in the body → {"code", "msg"}; 19001 for
  an unknown token, 19021 for a bad signature (HMAC-SHA256 keyed with "timestamp\\nsecret" over ""),
  11232 past its frequency limit.

Every request is kept in `requests` (accepted or not) and every accepted message in `messages`. The
server reads the process clock (`time.time()`), which time-machine moves along with the service's.
`down = True` makes it drop every connection without an answer; `fail_next[kind]` lists answers to give
instead of accepting the next messages of that platform.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LIMIT = {"wecom": 20, "dingtalk": 20, "feishu": 100}
RATE_LIMITED = {"wecom": {"errcode": 45009, "errmsg": "api freq out of limit"},
                "dingtalk": {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"},
                "feishu": {"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]"}}


def _hmac(key: str, text: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()).decode()


@dataclass
class Bot:
    kind: str
    key: str
    secret: str | None = None
    requests: list[dict] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    blocked_until: float = 0

    def titles(self) -> list[str]:
        return [title_of(self.kind, m) for m in self.messages]


def title_of(kind: str, body: dict) -> str:
    if kind == "wecom":
        return body["markdown"]["content"].splitlines()[0].removeprefix("### ")
    if kind == "dingtalk":
        return body["markdown"]["title"]
    return body["content"]["post"]["zh_cn"]["title"]


def text_of(kind: str, body: dict) -> str:
    if kind == "wecom":
        return body["markdown"]["content"]
    if kind == "dingtalk":
        return body["markdown"]["text"]
    post = body["content"]["post"]["zh_cn"]
    return "\n".join([post["title"], *("".join(p.get("text", "") + p.get("href", "") for p in row)
                                       for row in post["content"])])


class BotPlatforms:
    def __init__(self):
        self.bots: dict[tuple[str, str], Bot] = {}
        self.down = False
        self.fail_next: dict[str, list[dict]] = {"wecom": [], "dingtalk": [], "feishu": []}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> BotPlatforms:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bot(self, kind: str, key: str, secret: str | None = None) -> tuple[Bot, str]:
        """Make a bot on the platform; returns it and the webhook URL its settings page would show."""
        bot = self.bots[(kind, key)] = Bot(kind, key, secret)
        url = {"wecom": f"{self.base}/cgi-bin/webhook/send?key={key}",
               "dingtalk": f"{self.base}/robot/send?access_token={key}",
               "feishu": f"{self.base}/open-apis/bot/v2/hook/{key}"}[kind]
        return bot, url

    # -- the platforms' rules ----------------------------------------------------------------------
    def answer(self, path: str, query: dict, body: dict) -> dict:
        now = time.time()  # noqa: TID251 - the platform's own clock (time-machine moves it with the service's)
        if path == "/cgi-bin/webhook/send":
            kind, key = "wecom", query.get("key", [""])[0]
        elif path == "/robot/send":
            kind, key = "dingtalk", query.get("access_token", [""])[0]
        elif path.startswith("/open-apis/bot/v2/hook/"):
            kind, key = "feishu", path.rsplit("/", 1)[1]
        else:
            return {"errcode": 404, "errmsg": "not found"}
        ok = {"code": 0, "data": {}, "msg": "success"} if kind == "feishu" else {"errcode": 0, "errmsg": "ok"}
        bot = self.bots.get((kind, key))
        if bot is None:
            return {"wecom": {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1] key not found"},
                    "dingtalk": {"errcode": 300001, "errmsg": "token is not exist"},
                    "feishu": {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}}[kind]
        bot.requests.append({"at": now, "body": body, "query": query})
        if bot.secret is not None and not self._signed(bot, query, body, now):
            return ({"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
                    if kind == "feishu" else {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc]"})
        if now < bot.blocked_until:
            return RATE_LIMITED[kind]
        recent = [m for m in bot.messages if m["at"] > now - 60]
        if len(recent) >= LIMIT[kind]:
            if kind == "dingtalk":
                bot.blocked_until = now + 600
            return RATE_LIMITED[kind]
        if self.fail_next[kind]:
            return self.fail_next[kind].pop(0)
        if not self._well_formed(kind, body):
            return {"code": 9499, "msg": "Bad Request"} if kind == "feishu" else {"errcode": 40008,
                                                                                  "errmsg": "invalid message type"}
        bot.messages.append({"at": now, **{k: v for k, v in body.items() if k not in ("timestamp", "sign")}})
        return ok

    @staticmethod
    def _signed(bot: Bot, query: dict, body: dict, now: float) -> bool:
        if bot.kind == "dingtalk":
            timestamp, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
            fresh = timestamp.isdigit() and abs(int(timestamp) / 1000 - now) < 3600
            return fresh and hmac.compare_digest(sign, _hmac(bot.secret, f"{timestamp}\n{bot.secret}"))
        timestamp, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
        fresh = timestamp.isdigit() and abs(int(timestamp) - now) < 3600
        return fresh and hmac.compare_digest(sign, _hmac(f"{timestamp}\n{bot.secret}", ""))

    @staticmethod
    def _well_formed(kind: str, body: dict) -> bool:
        if kind == "wecom":
            return body.get("msgtype") == "markdown" and len(body["markdown"]["content"].encode()) <= 4096
        if kind == "dingtalk":
            return body.get("msgtype") == "markdown" and body["markdown"]["title"] and body["markdown"]["text"]
        return body.get("msg_type") == "post" and len(json.dumps(body).encode()) <= 20 * 1024

    def _handler(self):
        platforms = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if platforms.down:  # no answer at all: the client sees the connection dropped
                    self.close_connection = True
                    return
                parts = urlsplit(self.path)
                with platforms.lock:
                    answer = platforms.answer(parts.path, parse_qs(parts.query), json.loads(raw))
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(200)  # the platforms answer 200 and put the error in the body
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler
