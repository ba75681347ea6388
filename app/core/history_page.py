"""Keyset paging of a case's history lines and records (「更早的记录」).

A case page shows the latest lines of its history; an earlier page is read from an index on
(owner, sequence) below the oldest line shown, so a page costs the same at round 500 as at round 1.
The cursor given to the client is opaque: base64url of a small JSON naming what it pages and the
sequence to continue below; anything else is refused as 422 ``cursor_invalid``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any

from app.core.errors import InvalidInput

# Lines and records a case page or API answer shows at once.
PAGE_SIZE = 20
# Largest page a client may ask for (`limit`).
MAX_PAGE_SIZE = 100

def encode_cursor(kind: str, before: int) -> str:
    """Return the opaque cursor that continues `kind` below sequence `before`."""
    raw = json.dumps({"k": kind, "b": before}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str | None, kind: str) -> int | None:
    """Return the sequence a cursor continues below (None without a cursor), or refuse it (422)."""
    if cursor is None or cursor == "":
        return None
    try:
        if len(cursor) > 200 or not cursor.isascii():
            raise ValueError(cursor)
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        data = None
    before = data.get("b") if isinstance(data, dict) else None
    if (not isinstance(data, dict) or set(data) != {"k", "b"} or data["k"] != kind
            or type(before) is not int or not 0 < before < 2**63):
        raise InvalidInput("翻页标记无效或已过期，请回到第一页重新查看", code="cursor_invalid")
    return before


def check_limit(limit: int | None) -> int:
    """Return the page size asked for, or refuse one out of range (422)."""
    if limit is None:
        return PAGE_SIZE
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"每页条数应在 1 到 {MAX_PAGE_SIZE} 之间", code="limit_invalid")
    return limit


def page_of(rows_newest_first: Sequence[Any], *, kind: str, limit: int, key: Callable[[Any], int]
            ) -> tuple[list[Any], str | None]:
    """Cut `limit` rows from rows read newest first (limit + 1 of them) and return them oldest first,
    with the cursor to the earlier rows when there are more."""
    more = len(rows_newest_first) > limit
    rows = list(rows_newest_first[:limit])
    cursor = encode_cursor(kind, key(rows[-1])) if more and rows else None
    rows.reverse()
    return rows, cursor
