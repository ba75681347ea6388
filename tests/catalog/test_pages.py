"""The catalog pages without JavaScript: draft, add, submit, return, revise, resubmit, publish, compare, import, update duty."""

import re

from tests.web.test_pages import _csrf, _login

ENTRY_FORM = {"code": "410000-gat-0100", "name": "出入境证件信息", "summary": "出入境证件办理信息", "category": "部门信息资源/公安",
              "format": "数据库", "share_type": "conditional", "share_conditions": "限于身份核验",
              "share_methods[]": ["api"], "update_cycle": "每日", "classification": "非涉密",
              "item_name[]": ["证件号码", "签发日期", ""], "item_type[]": ["字符型", "日期型", "字符型"],
              "item_length[]": ["32", "", ""], "item_note[]": ["", "", ""]}


def test_the_review_round_trip_through_the_pages(client) -> None:
    clerk = _login(client.app, "gat_clerk")
    page = clerk.get("/catalog/versions")
    assert "新建草稿" in page.text
    r = clerk.post("/catalog/versions", data={"csrf_token": _csrf(page.text), "note": "增补出入境数据"})
    assert r.status_code == 303
    url = r.headers["location"].split("?")[0]
    page = clerk.get(url)
    assert "第1版" in page.text and "草稿" in page.text and "居民户籍信息" in page.text

    form = clerk.get(f"{url}/entries/new")
    assert "信息项" in form.text and "共享依据" in form.text
    r = clerk.post(f"{url}/entries", data={**ENTRY_FORM, "name": "", "csrf_token": _csrf(form.text)})
    assert r.status_code == 422
    assert "资源名称" in r.text and "出入境证件办理信息" in r.text  # what was typed is kept
    r = clerk.post(f"{url}/entries", data={**ENTRY_FORM, "csrf_token": _csrf(form.text)})
    assert r.status_code == 303, r.text
    page = clerk.get(url)
    assert "新增" in page.text and "必须注明法律、行政法规或国家有关规定依据" in page.text
    r = clerk.post(f"{url}/submit", data={"csrf_token": _csrf(page.text), "note": ""})
    assert r.status_code == 422 and "legal_basis_required" in r.text
    edit = clerk.get(f"{url}/entries/410000-gat-0100/edit")
    assert 'value="证件号码"' in edit.text
    r = clerk.post(f"{url}/entries", data={**ENTRY_FORM, "editing": "410000-gat-0100",
                                           "legal_basis": "《出境入境管理法》", "csrf_token": _csrf(edit.text)})
    assert r.status_code == 303, r.text
    r = clerk.post(f"{url}/submit", data={"csrf_token": _csrf(page.text), "note": "增补出入境数据"})
    assert r.status_code == 303, r.text
    assert "审核中" in clerk.get(url).text

    authority = _login(client.app, "data_reviewer")
    inbox = authority.get("/tasks")
    assert "审定政务数据资源目录" in inbox.text
    task_url = re.search(r'href="(/tasks/\d+)"', inbox.text).group(1)  # type: ignore[union-attr]
    assert f'href="{url}"' in authority.get(task_url).text  # the task page leads to the version page
    listing = authority.get("/catalog/versions")
    assert "河南省公安厅" in listing.text and "审核中" in listing.text
    page = authority.get(url)
    assert "逐条审定" in page.text and "审定辅助检查" in page.text and "《出境入境管理法》" in page.text
    r = authority.post(f"{url}/review", data={"csrf_token": _csrf(page.text),
                                              "decision__410000-gat-0100": "return", "comment__410000-gat-0100": ""})
    assert r.status_code == 422 and "必须写明意见" in r.text
    r = authority.post(f"{url}/review", data={"csrf_token": _csrf(page.text), "decision__410000-gat-0100": "return",
                                              "comment__410000-gat-0100": "请写明证件种类"})
    assert r.status_code == 303 and "/catalog/versions/" in r.headers["location"]

    page = clerk.get(url)
    assert "已退回" in page.text and "请写明证件种类" in page.text and "重新提交审定" in page.text
    edit = clerk.get(f"{url}/entries/410000-gat-0100/edit")
    r = clerk.post(f"{url}/entries", data={**ENTRY_FORM, "editing": "410000-gat-0100",
                                           "summary": "护照、往来港澳通行证等出入境证件办理信息",
                                           "legal_basis": "《出境入境管理法》", "csrf_token": _csrf(edit.text)})
    assert r.status_code == 303
    r = clerk.post(f"{url}/submit", data={"csrf_token": _csrf(page.text), "note": "已写明证件种类"})
    assert r.status_code == 303, r.text

    page = authority.get(url)
    r = authority.post(f"{url}/review", data={"csrf_token": _csrf(page.text), "decision__410000-gat-0100": "approve"})
    assert r.status_code == 303
    page = clerk.get(url)
    assert "已发布" in page.text and "发布为现行目录" in page.text and "退回修改" in page.text
    browse = clerk.get("/catalog", params={"department_code": "410000-gat"})
    assert "出入境证件信息" in browse.text and "共 3 个条目" in browse.text
    changes = clerk.get(f"{url}/changes")
    assert "新增的条目" in changes.text and "410000-gat-0100" in changes.text


def test_a_bad_spreadsheet_on_the_page_lists_its_rows(client) -> None:
    clerk = _login(client.app, "gat_clerk")
    page = clerk.get("/catalog/versions")
    url = clerk.post("/catalog/versions", data={"csrf_token": _csrf(page.text)}).headers["location"].split("?")[0]
    page = clerk.get(url)
    csv_text = ("目录代码,资源名称,资源摘要,资源格式,共享类型,更新周期,信息项名称\n"
                "410000-gat-0900,交通信息,摘要,纸质,无条件共享,每日,号牌\n")
    r = clerk.post(f"{url}/import", data={"csrf_token": _csrf(page.text)},
                   files={"file": ("目录.csv", csv_text.encode("utf-8"), "text/csv")})
    assert r.status_code == 422
    assert "未导入任何条目" in r.text and "第 2 行 资源格式" in r.text
    ok = csv_text.replace("纸质", "数据库")
    r = clerk.post(f"{url}/import", data={"csrf_token": _csrf(page.text)},
                   files={"file": ("目录.csv", ok.encode("utf-8"), "text/csv")})
    assert r.status_code == 303 and r.headers["location"] == url
    assert "新增 1" in clerk.get(url).text  # the import's message, in the banner of the next page


def test_update_trigger_page_and_another_departments_version(client) -> None:
    authority = _login(client.app, "data_reviewer")
    page = authority.get("/catalog/updates")
    assert "登记目录更新事由" in page.text and "河南省公安厅" in page.text
    r = authority.post("/catalog/updates", data={"csrf_token": _csrf(page.text), "kind": "functions_changed",
                                                 "document_number": "豫编〔2026〕3号", "document_date": "2026-10-30",
                                                 "effective_on": "2026-11-02",
                                                 "summary": "职能调整", "department_codes[]": ["410000-gat"]})
    assert r.status_code == 303, r.text
    r = authority.post("/catalog/updates", data={"csrf_token": _csrf(page.text), "kind": "functions_changed",
                                                 "document_number": "豫编〔2026〕4号", "document_date": "2026-10-30",
                                                 "summary": "职能调整"})
    assert r.status_code == 422 and "部门" in r.text
    clerk = _login(client.app, "gat_clerk")
    page = clerk.get("/catalog/versions")
    assert "目录更新任务（第九条）" in page.text and "豫编〔2026〕3号" in page.text
    url = clerk.post("/catalog/versions", data={"csrf_token": _csrf(page.text)}).headers["location"].split("?")[0]
    other = _login(client.app, "scjg_clerk")
    r = other.get(url)
    assert r.status_code == 404 and "catalog_version_not_found" in r.text and "目录版本不存在" in r.text
    assert re.search(r"/catalog/versions/\d+", url)
