"""The script workers' wire format: length-prefixed JSON, never pickle.

The parent must never unpickle what sandboxed code produced, so requests and replies are plain
JSON. Instants travel tagged as {"typename": ..., "iso": ...}: task data can never hold a dict
with a `typename` key (normalize_data refuses it), so a tag cannot be confused with data.
"""

from __future__ import annotations

import json
import struct
from datetime import date, datetime, timedelta
from typing import IO, Any

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # task data is capped far below (MAX_DATA_CHARS / NODES)
_HEADER = struct.Struct(">I")


def _tag(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"typename": "datetime", "iso": value.isoformat()}
    if isinstance(value, date):
        return {"typename": "date", "iso": value.isoformat()}
    if isinstance(value, timedelta):
        return {"typename": "timedelta", "seconds": value.total_seconds()}
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} cannot be sent to a script worker")


def _untag(obj: dict[str, Any]) -> Any:
    kind = obj.get("typename")
    if kind == "datetime":
        return datetime.fromisoformat(obj["iso"])
    if kind == "date":
        return date.fromisoformat(obj["iso"])
    if kind == "timedelta":
        return timedelta(seconds=obj["seconds"])
    return obj


def encode(obj: Any) -> bytes:
    """Encode one message body."""
    return json.dumps(obj, default=_tag, ensure_ascii=False, separators=(",", ":")).encode()


def decode(body: bytes) -> Any:
    """Decode one message body."""
    return json.loads(body, object_hook=_untag)


def frame(body: bytes) -> bytes:
    """Prefix a message body with its length."""
    if len(body) > MAX_MESSAGE_BYTES:
        raise ValueError("message too large")
    return _HEADER.pack(len(body)) + body


def write(stream: IO[bytes], body: bytes) -> None:
    """Write one encoded message and flush it."""
    stream.write(frame(body))
    stream.flush()


def read(stream: IO[bytes]) -> Any:
    """Read and decode one message; EOFError when the other side has gone."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    if size > MAX_MESSAGE_BYTES:
        raise ValueError("message too large")
    body = stream.read(size)
    if len(body) < size:
        raise EOFError
    return decode(body)
