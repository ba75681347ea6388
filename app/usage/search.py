"""`govflow usage-search`: the events of a grant in a period, from the live table and from every archive
whose checksum verifies (Art. 12: the log stays traceable after archiving)."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from app.runtime import Runtime
from app.usage import archive, service
from app.usage.archive import event_line


class SearchInput(ValueError):
    pass


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SearchInput(f"{name} 须为 YYYY-MM-DD 格式的日期：“{value}”") from None


def search_usage(rt: Runtime, *, grant_id: int, date_from: str | None, date_to: str | None,
                 directory: Path | None, out=sys.stdout, err=sys.stderr) -> int:  # type: ignore[no-untyped-def]
    """Print the grant's events of the period as JSON lines, archives first (oldest), then the database."""
    try:
        first, last = _day(date_from, "--from"), _day(date_to, "--to")
    except SearchInput as exc:
        print(f"失败：{exc}", file=err)
        return 2
    if first and last and first > last:
        print("失败：--from 不能晚于 --to", file=err)
        return 2
    start = service.shanghai_midnight(first) if first else datetime(1970, 1, 1, tzinfo=service.SHANGHAI)
    end = service.shanghai_midnight(last + timedelta(days=1)) if last else datetime(9999, 1, 1, tzinfo=service.SHANGHAI)
    found, bad = 0, []
    for path in archive.archives(directory or rt.settings.usage_archive_dir):
        month = archive.month_of(path)
        if month is not None and (service.shanghai_midnight(service.month_start(month, 1)) <= start
                                  or service.shanghai_midnight(month) >= end):
            continue  # the file's month lies outside the period
        checked = archive.verify(path)
        if not checked.ok:
            bad.append(checked)
            print(f"归档文件 {path.name} 未读取：{checked.reason}", file=err)
            continue
        for line in archive.read(path):
            at = datetime.fromisoformat(line["occurred_at"])
            if line["grant_id"] == grant_id and start <= at < end:
                print(json.dumps({"source": path.name, **line}, ensure_ascii=False), file=out)
                found += 1
    with rt.db.read_session() as session:
        for e in reversed(list(service.all_events(session, service.of_grant(grant_id), start=start, end=end))):
            print(json.dumps({"source": "database", **event_line(e)}, ensure_ascii=False), file=out)
            found += 1
    print(f"共享授权 {grant_id}：找到 {found} 条记录" + (f"；{len(bad)} 个归档文件校验不符" if bad else ""), file=err)
    return 1 if bad else 0
