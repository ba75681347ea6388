"""Keyset pagination for the case lists: an opaque cursor naming the last row's sort key, and capped counts.

A cursor is base64url of a small JSON array ``[v1, v2, ...]`` (the sort key of the last row shown, its id
last). It is validated strictly against the list's key kinds: anything else is a 422 ``cursor_invalid``.
Nothing in it is trusted beyond positioning: the list's own filters and scope still apply to every page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, false, func, or_, select, true, tuple_
from sqlmodel import Session

from app.core.errors import InvalidInput

COUNT_CAP = 100
MAX_CURSOR_LENGTH = 512


class CursorInvalid(InvalidInput):
    code = "cursor_invalid"
    message_zh = "翻页参数（cursor）无效，请回到第一页重新翻页"
    message_en = "Invalid page cursor; go back to the first page"


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def encode(values: Sequence[Any]) -> str:
    """Return the cursor naming a row's sort key (datetimes as ISO strings)."""
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


class Optional:
    """A key kind that may also be null (e.g. a deadline not set): ``Optional(datetime)``."""

    def __init__(self, kind: type) -> None:
        self.kind = kind


def _value(raw: Any, kind: Any) -> Any:
    if isinstance(kind, Optional):
        return None if raw is None else _value(raw, kind.kind)
    if kind is int and isinstance(raw, int) and not isinstance(raw, bool) and -2**63 <= raw < 2**63:
        return raw
    if kind is str and isinstance(raw, str) and len(raw) <= 200:
        return raw
    if kind is datetime and isinstance(raw, str) and len(raw) <= 40:
        try:
            found = datetime.fromisoformat(raw)
        except ValueError:
            raise CursorInvalid() from None
        if found.tzinfo is not None:
            return found
    raise CursorInvalid()


def decode(cursor: str | None, kinds: Sequence[Any]) -> list[Any] | None:
    """Read a cursor back into its sort key; None for the first page; 422 cursor_invalid on anything else."""
    if cursor is None or cursor == "":
        return None
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise CursorInvalid()
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorInvalid() from None
    if not isinstance(raw, list) or len(raw) != len(kinds):
        raise CursorInvalid()
    return [_value(v, k) for v, k in zip(raw, kinds, strict=True)]


def after(columns: Sequence[Any], values: Sequence[Any], *, desc: bool = False) -> ColumnElement[bool]:
    """Return the row-value condition "(c1, c2, ...) comes after the cursor" that an index range scan serves."""
    params = [bindparam(None, v, type_=c.type) for c, v in zip(columns, values, strict=True)]
    left, right = tuple_(*columns), tuple_(*params)
    return left < right if desc else left > right


def after_mixed(columns: Sequence[Any], values: Sequence[Any], descending: Sequence[bool]
                ) -> ColumnElement[bool]:
    """Return "the row comes after the cursor" for a sort whose columns run in different directions.

    Expanded as (c1 > v1) OR (c1 = v1 AND c2 > v2) OR ...; a null cursor value matches only nulls (a nullable
    column must follow a column that groups its nulls, so nothing sorts strictly after a null within them).
    A column may be a plain Python value (a branch's constant kind): its comparisons are decided here.
    """
    terms: list[ColumnElement[bool]] = []
    prefix: list[ColumnElement[bool]] = []
    for column, value, desc in zip(columns, values, descending, strict=True):
        if isinstance(column, (str, int)):
            beyond: Any = (column < value) if desc else (column > value)
            if beyond:
                terms.append(and_(true(), *prefix))
            if column != value:
                break
            continue
        if value is not None:
            param = bindparam(None, value, type_=column.type)
            terms.append(and_(*prefix, column < param if desc else column > param))
            prefix.append(column == param)
        else:
            prefix.append(column.is_(None))
    found: ColumnElement[bool] = or_(false(), *terms)
    first, value, desc = columns[0], values[0], descending[0]
    if not isinstance(first, (str, int)) and value is not None:
        # A range on the leading column as well, so that an index on it serves the page.
        found = and_(first <= bindparam(None, value, type_=first.type) if desc
                     else first >= bindparam(None, value, type_=first.type), found)
    return found


def page(rows: Sequence[Any], limit: int, key: Any) -> tuple[list[Any], str | None]:
    """Cut the limit+1 rows fetched to one page and name the next page's cursor (None on the last page)."""
    shown = list(rows[:limit])
    return shown, (encode(key(shown[-1])) if len(rows) > limit and shown else None)


def newest_first(session: Session, stmt: Select[Any], sides: Sequence[ColumnElement[bool]], id_column: Any,
                 limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """Return one page of a list shown newest first (by id) whose rows match any of `sides` (e.g. filed by or
    received by a department), and the next cursor. Each side is read newest first from its own index
    (side, id), cut to the page's size, then the sides are merged: a page costs the same at any depth."""
    key = decode(cursor, (int,))
    found: dict[int, Any] = {}
    for side in sides:
        part = stmt.where(side)
        if key is not None:
            part = part.where(id_column < key[0])
        for row in session.execute(part.order_by(id_column.desc()).limit(limit + 1)).scalars():
            found[row.id] = row
    rows = [found[i] for i in sorted(found, reverse=True)][:limit + 1]
    return page(rows, limit, lambda r: (r.id,))


def capped_count(session: Session, stmt: Select[Any], cap: int = COUNT_CAP) -> int:
    """Count the rows of a query, reading at most `cap` of them (shown as "99+" beyond 99)."""
    inner = stmt.limit(cap).subquery()
    return int(session.execute(select(func.count()).select_from(inner)).scalar_one())


def capped_counts(session: Session, *stmts: Select[Any], cap: int = COUNT_CAP) -> list[int]:
    """Count the rows of several queries, each up to `cap`, in one round trip (a page's badges and tabs)."""
    if not stmts:
        return []
    counts = [select(func.count()).select_from(stmt.limit(cap).subquery()).scalar_subquery() for stmt in stmts]
    return [int(n) for n in session.execute(select(*counts)).one()]


def count_label(count: int, cap: int = COUNT_CAP) -> str:
    """Show a capped count: the number up to cap-1, else "99+"."""
    return f"{cap - 1}+" if count >= cap else str(count)
