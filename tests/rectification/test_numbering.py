"""Notice numbers: the prefix is data, sequential per authority and year, never reused, safe under concurrency."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.core.clock import clock
from app.core.errors import DomainError
from app.rectification import service
from tests.rectification.helpers import at, issue, notice_body

ZZ_RSJ = "410100-rsj"  # 郑州市人力资源和社会保障局


def test_numbers_are_sequential_per_authority_with_the_prefix_from_data(as_user) -> None:
    before = as_user("demo_admin").get("/api/rectification/authorities").json()
    assert {(a["department_code"], a["number_prefix"], a["source"]) for a in before} == {
        ("410000-data", "豫数整改", "data_file"), ("410100-data", "郑数整改", "data_file")}
    province, city = as_user("data_reviewer"), as_user("zz_data_reviewer")
    assert [issue(province)["number"] for _ in range(2)] == ["豫数整改〔2026〕1号", "豫数整改〔2026〕2号"]
    # Zhengzhou's authority has its own prefix and its own sequence.
    assert issue(city, department_code=ZZ_RSJ)["number"] == "郑数整改〔2026〕1号"
    assert issue(province)["number"] == "豫数整改〔2026〕3号"
    listed = {a["department_code"]: (a["number_prefix"], a["source"])
              for a in as_user("demo_admin").get("/api/rectification/authorities").json()}
    assert listed == {"410000-data": ("豫数整改", "set"), "410100-data": ("郑数整改", "set")}
    assert as_user("rst_clerk").get("/api/rectification/authorities").status_code == 403


def test_an_administrator_changes_the_prefix_and_the_sequence_goes_on(as_user) -> None:
    province = as_user("data_reviewer")
    assert issue(province)["number"] == "豫数整改〔2026〕1号"
    admin = as_user("demo_admin")
    assert province.put("/api/rectification/authorities/410000-data",
                        json={"number_prefix": "豫政数整"}).status_code == 403
    r = admin.put("/api/rectification/authorities/410000-data", json={"number_prefix": " "})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "number_prefix_invalid"
    r = admin.put("/api/rectification/authorities/410000-gat", json={"number_prefix": "豫公"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "not_a_data_authority"
    assert admin.put("/api/rectification/authorities/410000-data",
                     json={"number_prefix": "豫政数整"}).status_code == 200
    assert issue(province)["number"] == "豫政数整〔2026〕2号"
    # Numbers already issued keep theirs.
    assert province.get("/api/rectification-notices").json()["items"][-1]["number"] == "豫数整改〔2026〕1号"


def test_the_sequence_restarts_with_the_calendar_year_in_shanghai(as_user) -> None:
    clock.freeze(at(2026, 12, 31, 23, 30))
    assert issue(as_user("data_reviewer"))["number"] == "豫数整改〔2026〕1号"
    clock.freeze(at(2027, 1, 1, 0, 10))  # still 2026-12-31 in UTC
    notice = issue(as_user("data_reviewer"))
    assert notice["number"] == "豫数整改〔2027〕1号" and notice["year"] == 2027
    # 2027's holiday arrangement is not known yet: the deadline says it is provisional.
    assert notice["due_provisional"] is True


def test_withdrawn_and_failed_issuances_never_reuse_a_number(as_user) -> None:
    province = as_user("data_reviewer")
    first = issue(province)
    province.post(f"/api/rectification-notices/{first['id']}/withdraw", json={"reason": "误发"}).raise_for_status()
    # A refused issuance takes no number: the sequence has no gap.
    assert province.post("/api/rectification-notices", json=notice_body(facts="")).status_code == 422
    assert issue(province)["number"] == "豫数整改〔2026〕2号"
    withdrawn = province.get(f"/api/rectification-notices/{first['id']}").json()
    assert withdrawn["status"] == "withdrawn" and withdrawn["number"] == "豫数整改〔2026〕1号"


def test_a_number_rolled_back_with_its_issuance_was_never_given(rt) -> None:
    with rt.db.session() as session:
        assert service.allocate_seq(session, authority_department_id=1, year=2026) == 1
        assert service.allocate_seq(session, authority_department_id=1, year=2026) == 2
        session.rollback()
        assert service.allocate_seq(session, authority_department_id=1, year=2026) == 1
        session.commit()
    with rt.db.session() as session:
        assert service.allocate_seq(session, authority_department_id=1, year=2026) == 2
        assert service.allocate_seq(session, authority_department_id=1, year=2027) == 1


def test_concurrent_issuance_gives_distinct_consecutive_numbers(as_user) -> None:
    clients = [as_user("data_reviewer") for _ in range(8)]

    def one(i: int) -> tuple[int, str]:
        r = clients[i].post("/api/rectification-notices", json=notice_body(facts=f"并发测试第{i}件"))
        return r.status_code, r.json().get("number", r.text)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(8)))
    assert [status for status, _ in results] == [201] * 8, results
    seqs = sorted(int(re.fullmatch(r"豫数整改〔2026〕(\d+)号", number).group(1)) for _, number in results)  # type: ignore[union-attr]
    assert seqs == list(range(1, 9))
    assert issue(clients[0])["number"] == "豫数整改〔2026〕9号"


def test_the_pattern_is_a_setting(app, as_user) -> None:
    rt = app.state.runtime
    rt.settings = rt.settings.model_copy(update={"rectification_number_pattern": "{prefix}〔{year}〕第{seq:03d}号"})
    assert issue(as_user("data_reviewer"))["number"] == "豫数整改〔2026〕第001号"


@pytest.mark.parametrize("pattern", ["{prefix}{seq}号", "{prefix}〔{year}〕{seq.__class__}号", "{prefix}{year}{seq}{x}",
                                     "{prefix}〔{year}〕{seq!r}号", "{prefix〔{year}〕{seq}号"])
def test_a_bad_pattern_is_refused_with_a_clear_message(pattern: str) -> None:
    with pytest.raises(DomainError) as caught:
        service.format_number(pattern, prefix="豫数整改", year=2026, seq=1)
    assert caught.value.code == "number_pattern_invalid" and "rectification_number_pattern" in caught.value.message_zh


def test_an_authority_without_a_prefix_cannot_issue(app, as_user, rt) -> None:
    from sqlalchemy import delete

    from app.rectification.models import RectificationAuthority

    issue(as_user("zz_data_reviewer"), department_code=ZZ_RSJ)  # seeds both demo prefixes from the data file
    with rt.db.session() as session:
        session.execute(delete(RectificationAuthority))
        session.commit()
    rt.settings = rt.settings.model_copy(update={"province_code": "419999"})  # no data file for this province
    r = as_user("data_reviewer").post("/api/rectification-notices", json=notice_body())
    assert r.status_code == 409 and r.json()["detail"]["code"] == "number_prefix_missing"
    assert "文号前缀" in r.json()["detail"]["message"]
