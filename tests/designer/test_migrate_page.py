"""The migration page: who sees it, what the table says, and the two buttons."""

from __future__ import annotations

import re

from tests.designer.migration_helpers import PROCESS, open_tasks, version_of
from tests.web.test_pages import _csrf, _login

PAGE = f"/designer/processes/{PROCESS}/migrate"


def _rows(html: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(2) for m in re.finditer(r'<tr data-instance="(\d+)">(.*?)</tr>', html, re.S)}


def test_designer_sees_the_candidates_and_migrates_a_selection(rt, app, client, three) -> None:
    at_prepare, at_review, at_archive = three
    page = _login(app, "designer")
    html = page.get(PAGE).text
    rows = _rows(html)
    assert set(rows) == {at_prepare, at_review, at_archive}
    assert "可以迁移" in rows[at_review] and f'value="{at_review}"' in rows[at_review]
    assert "不能迁移" in rows[at_archive] and "归档（archive） 在新版本中已删除或改名" in rows[at_archive]
    assert 'name="instance_id"' not in rows[at_archive]
    assert "某公司数据共享申请" not in html  # designers see no case content
    r = page.post(PAGE, data={"csrf_token": _csrf(html), "to_version": "2", "action": "selected",
                              "instance_id": [str(at_review), str(at_archive)]})
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}?to_version=2"
    html = page.get(r.headers["location"]).text
    assert f"已将 1 个实例迁移到版本 2；1 个未迁移（实例 {at_archive}：当前所在步骤 归档（archive） 在新版本中已删除或改名）" in html
    assert version_of(rt, at_review) == 2 and version_of(rt, at_prepare) == 1
    r = page.post(PAGE, data={"csrf_token": _csrf(html), "to_version": "2", "action": "all"})
    assert version_of(rt, at_prepare) == 2 and version_of(rt, at_archive) == 1
    assert [t.task_spec for t in open_tasks(rt, at_prepare)] == ["prepare"]


def test_admin_sees_subjects_and_others_are_refused(rt, app, client, three) -> None:
    assert "某公司数据共享申请" in _login(app, "demo_admin").get(PAGE).text
    reviewer_page = _login(app, "gat_reviewer")
    r = reviewer_page.get(PAGE)
    assert r.status_code == 403 and "流程设计员" in r.text
    html = reviewer_page.get("/tasks").text
    r = reviewer_page.post(PAGE, data={"csrf_token": _csrf(html), "to_version": "2", "action": "all"})
    assert r.status_code == 403
    assert all(version_of(rt, i) == 1 for i in three)


def test_bad_input_gives_a_readable_page_and_changes_nothing(rt, app, client, three) -> None:
    page = _login(app, "designer")
    assert page.get(f"{PAGE}?to_version=9").status_code == 422
    assert page.get(f"{PAGE}?to_version=abc").status_code == 422
    assert page.get("/designer/processes/nothing_here/migrate").status_code == 404
    html = page.get(PAGE).text
    r = page.post(PAGE, data={"csrf_token": _csrf(html), "to_version": "2", "action": "selected"})
    assert r.status_code == 422 and "请先勾选要迁移的实例" in r.text
    r = page.post(PAGE, data={"csrf_token": _csrf(html), "to_version": "2", "action": "selected",
                              "instance_id": "1 OR 1=1"})
    assert r.status_code == 422 and "实例编号必须是正整数" in r.text
    r = page.post(PAGE, data={"csrf_token": "forged", "to_version": "2", "action": "all"})
    assert r.status_code == 403
    assert all(version_of(rt, i) == 1 for i in three)
