"""The contract's one error shape (CONTRACT.md §2): raise `Problem` anywhere; the API answers RFC 9457."""
from __future__ import annotations


class Problem(Exception):  # noqa: N818 - RFC 9457 calls it a problem
    """Raised anywhere below a route to answer with RFC 9457 problem details."""

    def __init__(self, status: int, detail: str, errors: dict | None = None, headers=None):
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors, headers or {}
