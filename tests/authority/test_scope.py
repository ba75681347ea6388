"""Whose cases the console shows: an authority's own and those of the authorities below it, never above."""

from tests.authority.helpers import cases, keys, province_dispute, province_notice, zz_dispute, zz_notice


def test_the_province_sees_zhengzhou_but_zhengzhou_does_not_see_the_province(as_user) -> None:
    p_notice, z_notice = province_notice(as_user), zz_notice(as_user)
    p_dispute, z_dispute = province_dispute(as_user), zz_dispute(as_user)
    assert z_notice["number"] == "郑数整改〔2026〕1号"

    province = cases(as_user("data_reviewer"))
    assert set(keys(province)) == {("rectification_notice", p_notice["id"]), ("rectification_notice", z_notice["id"]),
                                   ("dispute", p_dispute["id"]), ("dispute", z_dispute["id"])}
    assert province["total"] == 4
    assert province["summary"] == {"open_disputes": 2, "open_notices": 2, "overdue": 0, "overdue_disputes": 0,
                                   "overdue_notices": 0}

    city = cases(as_user("zz_data_reviewer"))
    assert set(keys(city)) == {("rectification_notice", z_notice["id"]), ("dispute", z_dispute["id"])}
    assert city["summary"]["open_disputes"] == 1 and city["summary"]["open_notices"] == 1
    # The province's cases stay out of reach, even when asked for by region.
    r = as_user("zz_data_reviewer").get("/api/authority/cases", params={"region": "410000"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "authority_filter_invalid"
    assert "河南省不在本部门的管辖范围内" in r.json()["detail"]["message"]

    [notice] = [c for c in city["items"] if c["kind"] == "rectification_notice"]
    assert notice["number"] == notice["title"] == "郑数整改〔2026〕1号"
    assert notice["parties"] == [{"role": "notified", "role_label": "被通知部门", "department_code": "410100-rsj",
                                  "department_name": "郑州市人力资源和社会保障局"}]
    assert notice["authority"] == {"department_code": "410100-data", "department_name": "郑州市大数据管理局",
                                   "region_code": "410100", "region_name": "郑州市", "level": "city",
                                   "level_label": "市级"}
    assert notice["status"] == "rectifying" and notice["status_label"] == "整改中" and notice["open"] is True
    assert notice["age_days"] == 0 and notice["opened_at"] == z_notice["issued_at"]
    assert notice["next_due_at"] == z_notice["due_at"] and notice["due_provisional"] is False
    assert notice["working_days_left"] == 10 and notice["deadline_label"] == "剩余10个工作日"
    assert notice["overdue"] is False and notice["overdue_working_days"] == 0
    assert notice["next_step"]["name"] == "整改并报告"
    assert notice["url"] == f"/rectification-notices/{z_notice['id']}"
    assert notice["print_url"] == f"/rectification-notices/{z_notice['id']}/print"
    assert notice["print_label"] == "整改通知书"

    [dispute] = [c for c in city["items"] if c["kind"] == "dispute"]
    assert dispute["title"] == "“郑州市居住证信息”共享争议" and dispute["number"] is None
    assert [(p["role_label"], p["department_name"]) for p in dispute["parties"]] == [
        ("使用部门", "郑州市人力资源和社会保障局"), ("提供部门", "郑州市公安局")]
    assert dispute["status_label"] == "协商中" and dispute["authority"]["department_code"] == "410100-data"
    assert dispute["url"] == f"/disputes/{z_dispute['id']}" and dispute["print_url"] is None
