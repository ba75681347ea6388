"""Parse and validate a year's holiday arrangement in the community holiday-cn JSON shape.

Shape: ``{"year": 2027, "papers": [url, ...], "days": [{"name": "元旦", "date": "2027-01-01",
"isOffDay": true}, ...]}``. ``days`` lists the off days and the weekend make-up workdays (调休上班) of
the State Council's notice; every other day follows the Mon–Fri default. Extra keys (``$schema``,
``$id``) are ignored; ``papers`` is optional but must be a list of strings when present.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from app.core.errors import InvalidInput

# Accept only the plain ISO form holiday-cn writes; date.fromisoformat alone would also take "20270101".
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MIN_YEAR, _MAX_YEAR = 1950, 2100


def _fail(message_zh: str, code: str, **extra: Any) -> InvalidInput:
    """Build the validation error raised for an administrator's upload."""
    return InvalidInput(message_zh, code=code, extra=extra)


def _decode(payload: dict[str, Any] | str | bytes) -> Any:
    """Turn the payload into a JSON value."""
    if isinstance(payload, dict):
        return payload
    if isinstance(payload, (bytes, bytearray)):
        try:
            # utf-8-sig: files saved by Windows editors often start with a BOM.
            payload = bytes(payload).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _fail("节假日数据不是 UTF-8 编码的 JSON", "holiday_cn_bad_json") from exc
    if isinstance(payload, str):
        try:
            return json.loads(payload.lstrip("\ufeff"))
        except json.JSONDecodeError as exc:
            raise _fail(f"节假日数据不是有效的 JSON（第 {exc.lineno} 行）", "holiday_cn_bad_json",
                        line=exc.lineno) from exc
    raise _fail("节假日数据应为 JSON 对象", "holiday_cn_not_object")


def parse_holiday_cn(payload: dict[str, Any] | str | bytes) -> tuple[int, dict[date, bool]]:
    """Validate a holiday-cn payload and return (year, {date: is_working_day}).

    ``isOffDay: true`` maps to False (not a working day); ``false`` (a make-up workday) maps to True.
    Positions in messages and in ``extra["position"]`` are 1-based indexes into ``days``.
    """
    data = _decode(payload)
    if not isinstance(data, dict):
        raise _fail("节假日数据应为 JSON 对象", "holiday_cn_not_object")

    if "year" not in data:
        raise _fail("节假日数据缺少年份字段 year", "holiday_cn_missing_field", field="year")
    year = data["year"]
    if isinstance(year, bool) or not isinstance(year, int) or not _MIN_YEAR <= year <= _MAX_YEAR:
        raise _fail(f"年份 year 应为 {_MIN_YEAR}–{_MAX_YEAR} 之间的整数", "holiday_cn_bad_year", year=year)

    papers = data.get("papers")
    if papers is not None and (not isinstance(papers, list)
                               or not all(isinstance(p, str) for p in papers)):
        raise _fail("papers 应为国务院通知网址的列表", "holiday_cn_bad_papers")

    if "days" not in data:
        raise _fail("节假日数据缺少日期列表字段 days", "holiday_cn_missing_field", field="days")
    days = data["days"]
    if not isinstance(days, list):
        raise _fail("days 应为列表", "holiday_cn_bad_days")
    if not days:
        # An empty list would silently mean "a year without holidays"; that is never a real notice.
        raise _fail(f"{year} 年的日期列表 days 为空", "holiday_cn_empty_days", year=year)

    result: dict[date, bool] = {}
    for position, item in enumerate(days, start=1):
        if not isinstance(item, dict):
            raise _fail(f"days 第 {position} 项应为对象", "holiday_cn_bad_day", position=position)
        for field in ("name", "date", "isOffDay"):
            if field not in item:
                raise _fail(f"days 第 {position} 项缺少字段 {field}", "holiday_cn_missing_field",
                            position=position, field=field)
        name, raw_date, off = item["name"], item["date"], item["isOffDay"]
        if not isinstance(name, str) or not name.strip():
            raise _fail(f"days 第 {position} 项的名称 name 应为非空文本", "holiday_cn_bad_name",
                        position=position)
        if not isinstance(off, bool):
            raise _fail(f"days 第 {position} 项的 isOffDay 应为 true 或 false", "holiday_cn_bad_is_off_day",
                        position=position)
        day = _parse_date(raw_date, position)
        if day.year != year:
            # holiday-cn sometimes lists a make-up day of the previous year (e.g. 2012.json has
            # 2011-12-31); a loaded year replaces only its own days, so such a row must be removed.
            raise _fail(f"days 第 {position} 项的日期 {raw_date} 不在 {year} 年内",
                        "holiday_cn_date_outside_year", position=position, date=raw_date, year=year)
        if day in result:
            raise _fail(f"日期 {raw_date} 重复出现（days 第 {position} 项）", "holiday_cn_duplicate_date",
                        position=position, date=raw_date)
        if not off and day.weekday() < 5:
            # A make-up workday (调休上班) only ever moves a Saturday or Sunday; a weekday already works.
            raise _fail(f"days 第 {position} 项：{raw_date} 是周一至周五，不能作为调休上班日",
                        "holiday_cn_makeup_not_weekend", position=position, date=raw_date)
        # Off days that fall on a weekend are allowed: some notices list the whole break.
        result[day] = not off
    return year, result


def _parse_date(raw: Any, position: int) -> date:
    """Parse a strict YYYY-MM-DD date of a days row."""
    if isinstance(raw, str) and _DATE_RE.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise _fail(f"days 第 {position} 项的日期 {raw} 不是有效的 YYYY-MM-DD 日期", "holiday_cn_bad_date",
                position=position, date=str(raw))
