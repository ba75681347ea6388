"""Archives of the usage log (Art. 12): whole months older than the 24 months the log must keep, written as
gzip'd JSON lines with a SHA-256 checksum file beside each (`sha256sum -c` reads it), and searched with the
live table by `govflow usage-search`."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from app.usage.models import UsageEvent

PREFIX = "usage-events-"
SUFFIX = ".jsonl.gz"


def archive_path(directory: Path, month: date) -> Path:
    return directory / f"{PREFIX}{month:%Y-%m}{SUFFIX}"


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def event_line(e: UsageEvent) -> dict[str, Any]:
    """Return an event as an archive line (every column, instants in ISO 8601 with their offset)."""
    return {"system_client_id": e.system_client_id, "event_id": e.event_id, "occurred_at": e.occurred_at.isoformat(),
            "grant_id": e.grant_id, "provider_department_id": e.provider_department_id,
            "consumer_department_id": e.consumer_department_id, "items": e.items, "row_count": e.row_count,
            "call_count": e.call_count, "method": e.method, "requesting_system": e.requesting_system,
            "requesting_user": e.requesting_user, "flags": e.flags, "received_at": e.received_at.isoformat()}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write(directory: Path, month: date, events: Iterator[UsageEvent]) -> tuple[Path, int, str]:
    """Write a month's events to its archive and checksum files (atomically: temp file, fsync, rename);
    return the path, the number of events and the SHA-256."""
    directory.mkdir(parents=True, exist_ok=True)
    path = archive_path(directory, month)
    temp = path.with_name(path.name + ".part")
    count = 0
    # mtime=0: the same events give the same bytes, so a rerun's checksum is the same.
    with temp.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for e in events:
            gz.write(json.dumps(event_line(e), ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
            count += 1
        gz.close()
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(temp, path)
    digest = sha256_of(path)
    sums = checksum_path(path)
    sums.write_text(f"{digest}  {path.name}\n", encoding="utf-8")
    return path, count, digest


@dataclass
class Verified:
    path: Path
    ok: bool
    reason: str = ""


def verify(path: Path) -> Verified:
    """Check an archive against its checksum file."""
    sums = checksum_path(path)
    if not sums.exists():
        return Verified(path, False, "缺少校验文件")
    expected = sums.read_text(encoding="utf-8").split()[0] if sums.read_text(encoding="utf-8").strip() else ""
    if sha256_of(path) != expected:
        return Verified(path, False, "校验值不符（文件已被改动或损坏）")
    return Verified(path, True)


def count_lines(path: Path) -> int:
    with gzip.open(path, "rb") as f:
        return sum(1 for _ in f)


def archives(directory: Path) -> list[Path]:
    if not directory.exists():
        return []
    return sorted(p for p in directory.iterdir() if p.name.startswith(PREFIX) and p.name.endswith(SUFFIX))


def month_of(path: Path) -> date | None:
    stem = path.name[len(PREFIX):-len(SUFFIX)]
    try:
        return datetime.strptime(stem, "%Y-%m").date()
    except ValueError:
        return None


def read(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)
