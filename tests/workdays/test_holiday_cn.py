"""Validation of holiday-cn JSON uploads."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from app.core.errors import InvalidInput
from app.workdays.calendar import WorkdayCalendar
from app.workdays.holiday_cn import parse_holiday_cn

# SYNTHETIC 2027 arrangement in holiday-cn shape, made up for tests: the State Council has not
# published 2027 yet. Shaped like a real notice: off days (some on weekends) and weekend make-up days.
SYNTHETIC_2027: dict[str, Any] = {
    "$schema": "https://raw.githubusercontent.com/NateScarlet/holiday-cn/master/schema.json",
    "year": 2027,
    "papers": ["https://www.gov.cn/example/2027-synthetic.htm"],
    "days": [
        {"name": "元旦", "date": "2027-01-01", "isOffDay": True},
        {"name": "元旦", "date": "2027-01-02", "isOffDay": True},
        {"name": "元旦", "date": "2027-01-03", "isOffDay": True},
        {"name": "春节", "date": "2027-01-31", "isOffDay": False},  # Sunday make-up
        *({"name": "春节", "date": f"2027-02-{d:02d}", "isOffDay": True} for d in range(5, 14)),
        {"name": "春节", "date": "2027-02-20", "isOffDay": False},  # Saturday make-up
        {"name": "清明节", "date": "2027-04-03", "isOffDay": True},
        {"name": "清明节", "date": "2027-04-04", "isOffDay": True},
        {"name": "清明节", "date": "2027-04-05", "isOffDay": True},
        {"name": "劳动节", "date": "2027-04-25", "isOffDay": False},  # Sunday make-up
        *({"name": "劳动节", "date": f"2027-05-{d:02d}", "isOffDay": True} for d in range(1, 6)),
        {"name": "劳动节", "date": "2027-05-08", "isOffDay": False},  # Saturday make-up
        {"name": "端午节", "date": "2027-06-09", "isOffDay": True},
        {"name": "中秋节", "date": "2027-09-15", "isOffDay": True},
        {"name": "国庆节", "date": "2027-09-26", "isOffDay": False},  # Sunday make-up
        *({"name": "国庆节", "date": f"2027-10-{d:02d}", "isOffDay": True} for d in range(1, 8)),
        {"name": "国庆节", "date": "2027-10-09", "isOffDay": False},  # Saturday make-up
    ],
}

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_parses_synthetic_2027() -> None:
    year, days = parse_holiday_cn(SYNTHETIC_2027)
    assert year == 2027
    assert len(days) == len(SYNTHETIC_2027["days"])
    assert days[date(2027, 1, 1)] is False  # isOffDay true -> not a working day
    assert days[date(2027, 1, 2)] is False  # an off day on a Saturday is accepted
    assert days[date(2027, 2, 20)] is True  # make-up Saturday -> working day
    makeups = sorted(d for d, working in days.items() if working)
    assert makeups == [date(2027, 1, 31), date(2027, 2, 20), date(2027, 4, 25), date(2027, 5, 8),
                       date(2027, 9, 26), date(2027, 10, 9)]
    assert all(d.weekday() >= 5 for d in makeups)


@pytest.mark.parametrize("encode", [
    lambda p: json.dumps(p, ensure_ascii=False),
    lambda p: json.dumps(p, ensure_ascii=False).encode("utf-8"),
    lambda p: b"\xef\xbb\xbf" + json.dumps(p).encode("utf-8"),  # BOM, as Windows editors save it
], ids=["str", "bytes", "bytes-bom"])
def test_accepts_str_and_bytes(encode: Callable[[dict[str, Any]], str | bytes]) -> None:
    assert parse_holiday_cn(encode(SYNTHETIC_2027)) == parse_holiday_cn(SYNTHETIC_2027)


def test_papers_is_optional() -> None:
    payload = {k: v for k, v in SYNTHETIC_2027.items() if k != "papers"}
    assert parse_holiday_cn(payload)[0] == 2027


def test_feeds_the_calendar() -> None:
    year, days = parse_holiday_cn(SYNTHETIC_2027)
    cal = WorkdayCalendar(loaded={year: days})
    assert cal.knows(2027)
    assert cal.is_working_day(date(2027, 2, 20)) is True


def _with(mutate: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    payload = copy.deepcopy(SYNTHETIC_2027)
    mutate(payload)
    return payload


def _day(i: int, **changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda p: p["days"][i].update(changes)


def _drop_day_field(i: int, field: str) -> Callable[[dict[str, Any]], None]:
    return lambda p: p["days"][i].pop(field)


ERRORS: list[tuple[str, Any, str, dict[str, Any]]] = [
    ("bad-json", "{\"year\": 2027,", "holiday_cn_bad_json", {}),
    ("bad-utf8", b"\xff\xfe\x00{", "holiday_cn_bad_json", {}),
    ("not-object", "[]", "holiday_cn_not_object", {}),
    ("missing-year", _with(lambda p: p.pop("year")), "holiday_cn_missing_field", {"field": "year"}),
    ("year-string", _with(lambda p: p.update(year="2027")), "holiday_cn_bad_year", {}),
    ("year-bool", _with(lambda p: p.update(year=True)), "holiday_cn_bad_year", {}),
    ("year-absurd", _with(lambda p: p.update(year=27)), "holiday_cn_bad_year", {}),
    ("papers-not-list", _with(lambda p: p.update(papers="https://www.gov.cn/")), "holiday_cn_bad_papers", {}),
    ("missing-days", _with(lambda p: p.pop("days")), "holiday_cn_missing_field", {"field": "days"}),
    ("days-not-list", _with(lambda p: p.update(days={})), "holiday_cn_bad_days", {}),
    ("empty-days", _with(lambda p: p.update(days=[])), "holiday_cn_empty_days", {}),
    ("day-not-object", _with(lambda p: p["days"].insert(0, "2027-01-01")), "holiday_cn_bad_day",
     {"position": 1}),
    ("missing-name", _with(_drop_day_field(2, "name")), "holiday_cn_missing_field",
     {"position": 3, "field": "name"}),
    ("missing-date", _with(_drop_day_field(0, "date")), "holiday_cn_missing_field", {"field": "date"}),
    ("missing-isOffDay", _with(_drop_day_field(0, "isOffDay")), "holiday_cn_missing_field",
     {"field": "isOffDay"}),
    ("empty-name", _with(_day(0, name=" ")), "holiday_cn_bad_name", {}),
    ("isOffDay-string", _with(_day(0, isOffDay="true")), "holiday_cn_bad_is_off_day", {}),
    ("date-impossible", _with(_day(0, date="2027-02-30")), "holiday_cn_bad_date", {}),
    ("date-slashes", _with(_day(0, date="2027/01/01")), "holiday_cn_bad_date", {}),
    ("date-compact", _with(_day(0, date="20270101")), "holiday_cn_bad_date", {}),
    ("date-trailing-newline", _with(_day(0, date="2027-01-01\n")), "holiday_cn_bad_date", {}),
    ("date-number", _with(_day(0, date=20270101)), "holiday_cn_bad_date", {}),
    # Real holiday-cn files do this (2012.json lists 2011-12-31); the administrator must drop the row.
    ("date-previous-year", _with(_day(0, date="2026-12-31", isOffDay=False)),
     "holiday_cn_date_outside_year", {"date": "2026-12-31", "year": 2027}),
    ("date-next-year", _with(_day(0, date="2028-01-01")), "holiday_cn_date_outside_year", {}),
    ("duplicate", _with(lambda p: p["days"].append({"name": "元旦", "date": "2027-01-01", "isOffDay": True})),
     "holiday_cn_duplicate_date", {"date": "2027-01-01"}),
    ("duplicate-conflicting", _with(lambda p: p["days"].append(
        {"name": "元旦", "date": "2027-01-02", "isOffDay": False})), "holiday_cn_duplicate_date", {}),
    ("makeup-on-weekday", _with(lambda p: p["days"].append(
        {"name": "春节", "date": "2027-03-01", "isOffDay": False})),  # a Monday
     "holiday_cn_makeup_not_weekend", {"date": "2027-03-01"}),
]


@pytest.mark.parametrize(("payload", "code", "extra"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_rejects_invalid_payload(payload: Any, code: str, extra: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_holiday_cn(payload)
    err = caught.value
    assert err.code == code
    assert err.status_code == 422
    assert CJK.search(err.message_zh), err.message_zh
    for key, value in extra.items():
        assert err.extra[key] == value
    assert err.to_detail()["code"] == code


def test_the_example_holiday_file_in_data_loads() -> None:
    from pathlib import Path

    from app.core.config import ROOT

    year, days = parse_holiday_cn(Path(ROOT / "data" / "holidays-2027.example.json").read_bytes())
    assert year == 2027 and days[date(2027, 2, 8)] is False and days[date(2027, 1, 31)] is True
