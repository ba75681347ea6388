"""Found by fuzzing: a deadline from an instant the date arithmetic cannot hold was a 500; now a 422."""

import pytest


@pytest.mark.parametrize("start", ["9999-12-31T00:00:00+08:00",  # + N working days: year 10000
                                   "0001-01-01T00:00:00+08:00",  # to Shanghai time: before year 1
                                   "9999-12-31T23:59:59-23:59", "2101-01-01T00:00:00+08:00",
                                   "1949-12-31T23:59:59+08:00"])
def test_receipt_outside_the_calendar_years(client, as_user, start) -> None:
    r = as_user("gat_clerk").get("/api/calendar/deadline", params={"start": start, "working_days": 365})
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["code"] == "time_out_of_range"
    assert "1950–2100" in r.json()["detail"]["message"]


@pytest.mark.parametrize("start", ["1950-01-01T00:00:00+08:00", "2100-12-31T23:59:59+08:00"])
def test_receipt_at_the_edges_of_the_calendar_years(client, as_user, start) -> None:
    r = as_user("gat_clerk").get("/api/calendar/deadline", params={"start": start, "working_days": 365})
    assert r.status_code == 200, r.text
    assert r.json()["due_at"]
