"""Keyset pagination of the task lists: an opaque cursor holding the last row's sort key and id.

A cursor is base64url of a small JSON object: the list it belongs to (`l`), the branch of the sort
(`b`: 0 while rows with a sort value are listed, 1 for the rows without one, listed last), the last
row's sort value (`k`: an ISO instant, an integer or null) and its id (`i`). It carries no right:
every filter still applies to the next page, so it is validated strictly rather than signed; anything
else is refused with 422 `cursor_invalid`, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, NamedTuple

from app.core.errors import InvalidInput

MAX_CURSOR = 400  # characters; a real cursor is well under 150


class Cursor(NamedTuple):
    """Where the previous page ended: the sort branch, the sort value of its last row and that row's id."""

    branch: int
    value: datetime | int | None
    id: int


def invalid() -> InvalidInput:
    """Return the error of a cursor that is not one this service gave."""
    return InvalidInput("分页游标无效，请回到第一页重新查询", code="cursor_invalid")


def encode(list_name: str, cursor: Cursor) -> str:
    """Return the opaque, URL-safe form of a cursor of one list."""
    value = cursor.value.isoformat() if isinstance(cursor.value, datetime) else cursor.value
    raw = json.dumps({"l": list_name, "b": cursor.branch, "k": value, "i": cursor.id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(list_name: str, text: str | None, *, value_kind: type) -> Cursor | None:
    """Return the cursor a client sent for one list (None for the first page), or refuse it with 422.

    `value_kind` is the type of the list's sort value: datetime or int.
    """
    if text is None or text == "":
        return None
    if len(text) > MAX_CURSOR:
        raise invalid()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid() from None
    if not isinstance(data, dict) or set(data) != {"l", "b", "k", "i"} or data["l"] != list_name:
        raise invalid()
    branch, value, row_id = data["b"], data["k"], data["i"]
    if type(branch) is not int or branch not in (0, 1) or type(row_id) is not int or not 0 < row_id < 2**63:
        raise invalid()
    if branch == 1:
        if value is not None:
            raise invalid()
        return Cursor(1, None, row_id)
    return Cursor(0, _value(value, value_kind), row_id)


def _value(value: Any, kind: type) -> datetime | int:
    if kind is int:
        if type(value) is not int or not 0 <= value < 2**63:
            raise invalid()
        return value
    if not isinstance(value, str) or len(value) > 40:
        raise invalid()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise invalid() from None
    if moment.tzinfo is None:
        raise invalid()
    return moment


# Capped counts ("99+") are the shared ones of app/core/keyset.py, re-exported for the task lists.
from app.core.keyset import COUNT_CAP, capped_count, capped_counts, count_label  # noqa: E402,F401
