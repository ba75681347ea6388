"""Which data authority coordinates (Art. 16 para 3: 本级政务数据主管部门): the provider's level when both
departments belong to it, else the lowest level whose area covers both."""

import pytest

from app.core.clock import clock
from app.core.errors import Conflict
from app.disputes.service import choose_authority, covering_region, region_parents
from app.org.models import Department

PROVINCE, ZHENGZHOU, LUOYANG = "410000", "410100", "410300"
ZHONGYUAN, JINSHUI, XIGONG = "410102", "410105", "410303"  # two counties of Zhengzhou, one of Luoyang

# The same shape as the loaded regions, so the rule is checked without a database.
PARENTS = {PROVINCE: None, ZHENGZHOU: PROVINCE, LUOYANG: PROVINCE, ZHONGYUAN: ZHENGZHOU, JINSHUI: ZHENGZHOU,
           XIGONG: LUOYANG}


@pytest.mark.parametrize(("provider", "requester", "expected"), [
    (PROVINCE, PROVINCE, PROVINCE),      # both provincial: the province
    (ZHENGZHOU, ZHENGZHOU, ZHENGZHOU),   # both of one city: that city
    (ZHONGYUAN, ZHONGYUAN, ZHONGYUAN),   # both of one county: that county
    (ZHONGYUAN, JINSHUI, ZHENGZHOU),     # two counties of one city: the city
    (JINSHUI, ZHONGYUAN, ZHENGZHOU),
    (ZHONGYUAN, ZHENGZHOU, ZHENGZHOU),   # a county and its own city: the city
    (ZHENGZHOU, ZHONGYUAN, ZHENGZHOU),
    (ZHENGZHOU, LUOYANG, PROVINCE),      # a city and another city: the province
    (ZHONGYUAN, XIGONG, PROVINCE),       # counties of two cities: the province
    (XIGONG, ZHENGZHOU, PROVINCE),       # a county and another city: the province
    (PROVINCE, JINSHUI, PROVINCE),       # a provincial department and a county one: the province
    (ZHONGYUAN, PROVINCE, PROVINCE),
])
def test_lowest_level_covering_both_departments(provider: str, requester: str, expected: str) -> None:
    assert covering_region(PARENTS, provider, requester) == expected


def test_unrelated_regions_have_no_authority() -> None:
    with pytest.raises(ValueError):
        covering_region({**PARENTS, "990000": None}, "990000", ZHONGYUAN)


def _dept(code: str, region: str) -> Department:
    return Department(code=code, name=code, kind="department", region_code=region, created_at=clock.now())


def test_the_authority_is_the_data_authority_registered_there(rt) -> None:  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        parents = region_parents(session=session)
        assert covering_region(parents, ZHONGYUAN, JINSHUI) == ZHENGZHOU
        assert covering_region(parents, ZHENGZHOU, LUOYANG) == PROVINCE
        pick = lambda a, b: choose_authority(session=session, provider=_dept("p", a),  # noqa: E731
                                             requester=_dept("r", b)).code
        assert pick(PROVINCE, PROVINCE) == "410000-data"
        assert pick(ZHONGYUAN, JINSHUI) == "410100-data"
        assert pick(ZHENGZHOU, ZHONGYUAN) == "410100-data"
        assert pick(ZHENGZHOU, LUOYANG) == "410000-data"
        assert pick(XIGONG, ZHONGYUAN) == "410000-data"
        # A level whose authority is not registered is named, not silently replaced by another.
        with pytest.raises(Conflict) as missing:
            pick(ZHONGYUAN, ZHONGYUAN)
        assert missing.value.code == "dispute_authority_missing" and "中原区" in missing.value.message_zh
        with pytest.raises(Conflict):
            pick(LUOYANG, LUOYANG)


def _county_pair(rt) -> None:  # type: ignore[no-untyped-def]
    """Two county departments of Zhengzhou, a clerk and a reviewer, and the provider's conditional entry."""
    from app.catalog.models import CatalogEntry
    from app.core.security import hash_password
    from app.org.models import User, UserRole
    from tests.conftest import DEMO_PASSWORD

    now = clock.now()
    with rt.db.session() as session:
        requester = Department(code="410102-rsj", name="郑州市中原区人力资源和社会保障局", kind="department",
                               region_code=ZHONGYUAN, created_at=now)
        provider = Department(code="410105-gaj", name="郑州市公安局金水分局", kind="department",
                              region_code=JINSHUI, created_at=now)
        session.add_all([requester, provider])
        session.flush()
        for username, dept, role in (("zy_clerk", requester, "clerk"), ("js_reviewer", provider, "reviewer")):
            user = User(username=username, password_hash=hash_password(DEMO_PASSWORD), display_name=username,
                        department_id=dept.id, created_at=now)
            session.add(user)
            session.flush()
            session.add(UserRole(user_id=user.id, role=role))
        session.add(CatalogEntry(code="410105-gaj-0001", name="金水区暂住登记信息", summary="辖区暂住登记。",
                                 format="数据库", share_type="conditional", share_conditions="限核验使用。",
                                 legal_basis="《居住证暂行条例》", share_methods=["api"], update_cycle="每日",
                                 items=[{"name": "姓名", "type": "字符型"}, {"name": "暂住地址", "type": "字符型"}],
                                 department_id=provider.id, created_at=now, updated_at=now))
        session.commit()


def test_two_counties_of_one_city_go_to_the_city(client, rt, as_user) -> None:  # type: ignore[no-untyped-def]
    from tests.disputes.helpers import NOT_SHARE, open_dispute, refused_request, step

    _county_pair(rt)
    sr = refused_request(as_user, clerk="zy_clerk", reviewer="js_reviewer", entry_code="410105-gaj-0001",
                         items=["姓名", "暂住地址"])
    clerk = as_user("zy_clerk")
    d = open_dispute(clerk, sr["id"])
    assert d["authority_department_code"] == "410100-data" and d["authority_level_label"] == "市级"
    step(as_user("js_reviewer"), d["id"], "provider-position", {**NOT_SHARE, "request_coordination": True})
    city = as_user("zz_data_reviewer")
    assert [t["task_spec"] for t in city.get("/api/tasks").json()["items"]] == ["coordinate"]
    assert as_user("data_reviewer").get("/api/tasks").json()["items"] == []
    # The provincial authority oversees it read-only; it cannot adjudicate in the city's place.
    assert as_user("data_reviewer").get(f"/api/disputes/{d['id']}").status_code == 200
    r = as_user("data_reviewer").post(f"/api/disputes/{d['id']}/decision",
                                      json={"decision": "not_share", "reasons": "越级"})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "task_not_yours"
    d = step(city, d["id"], "decision", {"decision": "share", "items": ["姓名"], "terms": "仅核验",
                                         "reasons": "就业服务所需"})
    assert d["status"] == "decided" and d["grant"]["items"] == ["姓名"]
