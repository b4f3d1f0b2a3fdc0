"""The three platforms: what their webhook URLs look like, how a URL is masked, how a message is
formatted and signed, and how their answer is read. A small client per platform on `requests`
(README: why not apprise).

- WeCom (企业微信) group bot: POST …/cgi-bin/webhook/send?key=KEY, markdown; answers HTTP 200 with
  {"errcode", "errmsg"} (45009: over 20 a minute). No signature.
- DingTalk (钉钉) custom bot: POST …/robot/send?access_token=TOKEN[&timestamp=&sign=], markdown; the sign
  is Base64(HMAC-SHA256(key=secret, "timestamp\\nsecret")) in milliseconds; {"errcode", "errmsg"}
  (310000 signature or keyword mismatch, 130101 too fast: the bot is blocked for 10 minutes).
- Feishu (飞书) custom bot: POST …/open-apis/bot/v2/hook/TOKEN, a "post" message; "timestamp" (seconds)
  and "sign" = Base64(HMAC-SHA256(key="timestamp\\nsecret", "")) in the body; {"code", "msg"} (19021
  signature, 11232 frequency limited).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests

TIMEOUT = (5, 15)  # connect, read: a hung platform must not hold the scheduler


@dataclass(frozen=True)
class Message:
    """What an event says, before any platform's format: a title, short lines, a link."""

    title: str
    lines: list[str] = field(default_factory=list)
    link: str | None = None


@dataclass(frozen=True)
class Answer:
    ok: bool
    error: str | None = None
    retry: bool = True  # False: retrying cannot help (signature, unknown key)
    pause: timedelta | None = None  # the platform's rate limit: wait this long before the next message
    network: bool = False  # no answer at all (refused, timed out): the bot's other messages wait too


class Platform:
    kind: str
    label: str
    secret_parts: tuple[str, ...] = ()  # query parameters that carry the key
    rate_limited: dict[int, timedelta] = {}
    permanent: frozenset[int] = frozenset()

    # -- the URL -----------------------------------------------------------------------------------
    def key_of(self, url: str) -> str | None:
        """The key in a webhook URL, or None when the URL is not this platform's."""
        query = dict(parse_qsl(urlsplit(url).query))
        return next((query[p] for p in self.secret_parts if query.get(p)), None)

    def keys(self, url: str) -> list[str]:
        """Every secret fragment of the URL (masked wherever the URL is shown)."""
        key = self.key_of(url)
        return [key] if key else []

    # -- the message -------------------------------------------------------------------------------
    limit = 4000  # bytes of JSON the platform takes (WeCom: 4,096 of markdown), with room to spare

    def render(self, message: Message) -> dict:
        """The platform's JSON; lines are dropped from the end (and said so) until it fits the limit."""
        lines = list(message.lines)
        while True:
            body = self.format(Message(message.title, lines, message.link))
            if len(json.dumps(body, ensure_ascii=False).encode()) <= self.limit or not lines:
                return body
            lines = [*lines[:-2], "……（过长，其余略）"] if len(lines) > 1 else []

    def format(self, message: Message) -> dict:
        raise NotImplementedError

    def sign(self, url: str, body: dict, secret: str | None, now: datetime) -> tuple[str, dict]:
        return url, body

    # -- the answer --------------------------------------------------------------------------------
    def read(self, response: requests.Response) -> Answer:
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code == 429:
            return Answer(False, f"HTTP 429 {response.text[:200]}", pause=timedelta(minutes=1))
        if not isinstance(data, dict):
            return Answer(False, f"HTTP {response.status_code} {response.text[:200]}".strip())
        code, text = self.code_of(data)
        if response.status_code == 200 and code == 0:
            return Answer(True)
        error = f"{self.label} {code}: {text}" if code is not None else f"HTTP {response.status_code} {data}"
        return Answer(False, error, retry=code not in self.permanent, pause=self.rate_limited.get(code))

    def code_of(self, data: dict) -> tuple[int | None, str]:
        code = data.get("errcode")
        return (code if isinstance(code, int) else None), str(data.get("errmsg", ""))


def _markdown(message: Message) -> str:
    text = "\n".join([f"### {message.title}", *message.lines])
    if message.link:
        text += f"\n\n[查看详情]({message.link})"
    return text


def _hmac(key: str, text: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()).decode()


class WeCom(Platform):
    kind, label = "wecom", "企业微信"
    secret_parts = ("key",)
    rate_limited = {45009: timedelta(minutes=1)}
    permanent = frozenset({93000, 93008})  # invalid webhook url; bot not in the group any more

    def format(self, message: Message) -> dict:
        return {"msgtype": "markdown", "markdown": {"content": _markdown(message)}}


class DingTalk(Platform):
    kind, label = "dingtalk", "钉钉"
    secret_parts = ("access_token",)
    # Past 20 a minute DingTalk blocks the bot for 10 minutes.
    rate_limited = {130101: timedelta(minutes=10), 410100: timedelta(minutes=10)}
    permanent = frozenset({310000, 300001, 400101, 400102})  # sign/keyword/ip; token unknown; bot gone

    def format(self, message: Message) -> dict:
        return {"msgtype": "markdown", "markdown": {"title": message.title, "text": _markdown(message)}}

    def sign(self, url: str, body: dict, secret: str | None, now: datetime) -> tuple[str, dict]:
        if not secret:
            return url, body
        timestamp = str(int(now.timestamp() * 1000))
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("timestamp", "sign")]
        query += [("timestamp", timestamp), ("sign", _hmac(secret, f"{timestamp}\n{secret}"))]
        return urlunsplit(parts._replace(query=urlencode(query))), body


class Feishu(Platform):
    kind, label = "feishu", "飞书"
    hook = re.compile(r"/open-apis/bot/v2/hook/([A-Za-z0-9_-]+)/?\Z")
    rate_limited = {11232: timedelta(minutes=1), 9499: timedelta(minutes=1)}
    permanent = frozenset({19021, 19024, 19001})  # sign; keyword; param (unknown hook)

    def key_of(self, url: str) -> str | None:
        match = self.hook.search(urlsplit(url).path)
        return match.group(1) if match else None

    limit = 18 * 1024  # Feishu: a body of at most 20 KB

    def format(self, message: Message) -> dict:
        # A post has no markdown: the bold marks of the other two platforms go.
        rows = [[{"tag": "text", "text": line.replace("**", "")}] for line in message.lines]
        if message.link:
            rows.append([{"tag": "a", "text": "查看详情", "href": message.link}])
        return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": message.title, "content": rows}}}}

    def sign(self, url: str, body: dict, secret: str | None, now: datetime) -> tuple[str, dict]:
        if not secret:
            return url, body
        timestamp = str(int(now.timestamp()))
        return url, {"timestamp": timestamp, "sign": _hmac(f"{timestamp}\n{secret}", ""), **body}

    def code_of(self, data: dict) -> tuple[int | None, str]:
        code = data.get("code", data.get("StatusCode"))
        return (code if isinstance(code, int) else None), str(data.get("msg", data.get("StatusMessage", "")))


PLATFORMS: dict[str, Platform] = {p.kind: p for p in (WeCom(), DingTalk(), Feishu())}


def mask(value: str) -> str:
    """Enough of a key to tell two bots apart, never enough to use one: the last four characters."""
    return "****" + value[-4:] if len(value) > 12 else "****"


def mask_url(kind: str, url: str) -> str:
    masked = url
    for key in PLATFORMS[kind].keys(url):
        masked = masked.replace(key, mask(key))
    return masked


def scrub(text: str | None, kind: str, url: str, secret: str | None) -> str | None:
    """`text` (an error, a log line) with every secret of the channel masked, and any signature dropped."""
    if text is None:
        return None
    for key in [*PLATFORMS[kind].keys(url), *([secret] if secret else [])]:
        text = text.replace(key, mask(key)).replace(quote(key, safe=""), mask(key))
    return re.sub(r"(sign=)[^&\s\"')]+", r"\1****", text)


def post(kind: str, url: str, secret: str | None, body: dict, now: datetime,
         session: requests.Session | None = None) -> Answer:
    """Send one message; never raises for what the network or the platform does."""
    platform = PLATFORMS[kind]
    signed_url, signed_body = platform.sign(url, body, secret, now)
    data = json.dumps(signed_body, ensure_ascii=False).encode()
    try:
        response = (session or requests).post(signed_url, data=data, timeout=TIMEOUT,
                                              headers={"Content-Type": "application/json; charset=utf-8"})
    except requests.RequestException as error:
        return Answer(False, scrub(f"{type(error).__name__}: {error}", kind, url, secret), network=True)
    answer = platform.read(response)
    return answer if answer.ok else Answer(False, scrub(answer.error, kind, url, secret), answer.retry, answer.pause)
