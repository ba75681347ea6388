"""Catalog spreadsheets: template, import (all or nothing, bad rows by number), export of published catalogs."""

import csv
import io

from openpyxl import Workbook, load_workbook

from tests.catalog.helpers import entry_row, new_draft, review, submit

HEADERS = ["目录代码", "资源名称", "资源摘要", "资源分类", "资源格式", "共享类型", "共享条件", "共享方式", "共享依据",
           "是否向社会开放", "开放条件", "更新周期", "涉密属性", "信息项名称", "信息项类型", "信息项长度", "信息项说明"]


def _xlsx(rows: list[list]) -> bytes:  # type: ignore[type-arg]
    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _row(code: str, item: str, **over) -> list:  # type: ignore[no-untyped-def,type-arg]
    values = {"目录代码": code, "资源名称": "道路运输许可信息", "资源摘要": "道路运输经营许可办理结果",
              "资源分类": "部门信息资源/交通", "资源格式": "数据库", "共享类型": "无条件共享", "共享方式": "接口、库表",
              "是否向社会开放": "否", "更新周期": "每日", "涉密属性": "非涉密", "信息项名称": item,
              "信息项类型": "字符型", "信息项长度": 32}
    values.update(over)
    return [values.get(h, "") for h in HEADERS]


def _import(clerk, vid: int, content: bytes, filename: str = "catalog.xlsx", **data):  # type: ignore[no-untyped-def]
    return clerk.post(f"/api/catalog/versions/{vid}/import", files={"file": (filename, content)}, data=data)


def test_template_downloads_with_chinese_headers(client, as_user) -> None:
    c = as_user("gat_clerk")
    r = c.get("/api/catalog/template", params={"format": "xlsx"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    assert [c.value for c in wb.worksheets[0][1]] == HEADERS
    assert wb.sheetnames[1] == "填写说明"
    r = c.get("/api/catalog/template", params={"format": "csv"})
    assert r.content.startswith("\ufeff".encode())
    assert next(csv.reader(io.StringIO(r.content.decode("utf-8-sig")))) == HEADERS


def test_import_adds_and_changes_entries_one_row_per_item(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    household = {"资源名称": "居民户籍信息", "资源摘要": "全省常住人口户籍登记基本信息。", "资源分类": "基础信息资源/人口",
                 "共享类型": "有条件共享", "共享条件": "仅限履行法定职责时使用。",
                 "共享依据": "《中华人民共和国户口登记条例》"}
    content = _xlsx([
        _row("410000-gat-0500", "许可证号"),
        _row("410000-gat-0500", "经营者名称", 资源名称="", 资源摘要="", 资源格式="", 共享类型="", 更新周期="", 信息项长度=""),
        _row("410000-gat-0001", "姓名", **household, 信息项长度=50),
        _row("410000-gat-0001", "公民身份号码", **household, 信息项长度=18),
        [],  # blank rows are skipped
    ])
    r = _import(clerk, vid, content)
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["entries"], result["added"], result["changed"]) == (2, 1, 1)
    version = clerk.get(f"/api/catalog/versions/{vid}").json()
    added = entry_row(version, "410000-gat-0500")
    assert added["change"] == "added"
    assert [(i["name"], i["length"]) for i in added["data"]["items"]] == [("许可证号", 32), ("经营者名称", None)]
    assert added["data"]["share_methods"] == ["api", "table"]
    changed = entry_row(version, "410000-gat-0001")
    assert changed["change"] == "changed"
    assert {f["field"] for f in changed["changed_fields"]} >= {"items", "summary"}
    assert entry_row(version, "410000-gat-0002")["change"] == "unchanged"
    # With "replace", a published entry missing from the sheet is withdrawn.
    r = _import(clerk, vid, content, replace="true")
    assert r.status_code == 200 and r.json()["withdrawn"] == 1
    assert entry_row(clerk.get(f"/api/catalog/versions/{vid}").json(), "410000-gat-0002")["change"] == "withdrawn"


def test_a_bad_sheet_reports_every_bad_row_and_imports_nothing(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    before = clerk.get(f"/api/catalog/versions/{vid}").json()
    content = _xlsx([
        _row("410000-gat-0600", "许可证号"),                              # row 2: fine
        _row("410000-gat-0601", "车牌号", 共享类型="随便共享"),       # row 3
        _row("410000-gat-0602", "车架号", 资源格式="纸质"),          # row 4
        _row("410000-gat-0603", "发动机号", 信息项长度="很长"),      # row 5
        _row("410000-gat-0600", "许可证号", 资源名称=""),           # row 6: duplicate item name
        _row("", "无主信息项"),                                            # row 7: no code
        _row("410000-gat-0604", "号牌", 涉密属性="秘密"),           # row 8
        _row("410000-gat-0600", "经营范围", 资源名称="别的名称"),     # row 9: disagrees with row 2
        _row("410000-scjg-0001", "企业名称"),                              # row 10: another department's code
    ])
    r = _import(clerk, vid, content)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["code"] == "spreadsheet_invalid"
    assert "未导入任何条目" in detail["message"]
    by_row = {e["row"]: e for e in detail["errors"]}
    assert set(by_row) == {3, 4, 5, 6, 7, 8, 9}
    assert by_row[3]["column"] == "共享类型" and "无条件共享" in by_row[3]["message"]
    assert by_row[4]["column"] == "资源格式"
    assert by_row[5]["column"] == "信息项长度" and "正整数" in by_row[5]["message"]
    assert "与第 2 行重复" in by_row[6]["message"]
    assert by_row[7]["column"] == "目录代码"
    assert by_row[8]["column"] == "涉密属性" and "涉密" in by_row[8]["message"]
    assert "与第 2 行" in by_row[9]["message"] and by_row[9]["column"] == "资源名称"
    assert clerk.get(f"/api/catalog/versions/{vid}").json()["entries"] == before["entries"]
    # Fix every row but the foreign code: that one is reported on its own row.
    r = _import(clerk, vid, _xlsx([_row("410000-gat-0600", "许可证号"), _row("410000-scjg-0001", "企业名称")]))
    assert r.status_code == 422
    assert r.json()["detail"]["errors"] == [{"row": 3, "column": "目录代码",
                                             "message": "目录代码“410000-scjg-0001”已被其他部门或条目使用"}]
    assert clerk.get(f"/api/catalog/versions/{vid}").json()["entries"] == before["entries"]


def test_unreadable_or_wrong_files_are_refused(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    cases = [(b"PK\x03\x04 not really a zip", "a.xlsx", "spreadsheet_unreadable"),
             (b"%PDF-1.4", "a.pdf", "spreadsheet_type_unsupported"),
             ("名称,摘要\n甲,乙\n".encode(), "a.csv", "spreadsheet_headers_missing"),
             (b"", "a.csv", "spreadsheet_empty")]
    for content, name, code in cases:
        r = _import(clerk, vid, content, name)
        assert r.status_code == 422 and r.json()["detail"]["code"] == code, (name, r.text)


def test_csv_in_gb18030_imports_and_art15_warnings_are_reported(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADERS)
    writer.writerow(_row("410000-gat-0700", "案件编号", 共享类型="不予共享"))
    r = _import(clerk, vid, buf.getvalue().encode("gb18030"), "目录.csv")
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 1
    [warning] = r.json()["warnings"]
    assert warning["row"] == 2 and warning["code"] == "410000-gat-0700" and "第十五条" in warning["message"]
    # Drafted, but the version cannot be submitted until the basis is given.
    assert clerk.post(f"/api/catalog/versions/{vid}/submit").json()["detail"]["code"] == "legal_basis_required"


def test_published_catalog_exports_and_imports_back_unchanged(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    r = clerk.get("/api/catalog/export", params={"format": "xlsx", "department_code": "410000-gat"})
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("提供部门", "提供部门代码", "目录代码")
    assert len(rows) == 1 + 4 + 2  # one row per data item
    assert rows[1][:4] == ("河南省公安厅", "410000-gat", "410000-gat-0001", "居民户籍信息")
    csv_export = clerk.get("/api/catalog/export", params={"format": "csv", "level": "city"})
    lines = list(csv.reader(io.StringIO(csv_export.content.decode("utf-8-sig"))))
    assert [line[2] for line in lines[1:]] == ["410100-gaj-0001", "410100-gaj-0001"]
    # Round trip: the export imports into a draft with nothing changed.
    vid = new_draft(clerk)["id"]
    r = _import(clerk, vid, r.content, "export.xlsx")
    assert r.status_code == 200, r.text
    assert (r.json()["unchanged"], r.json()["changed"], r.json()["added"]) == (2, 0, 0)
    # A published version exports its snapshot.
    _import(clerk, vid, _xlsx([_row("410000-gat-0800", "运输证号")]))
    submit(clerk, vid)
    review(as_user("data_reviewer"), vid, {"410000-gat-0800": "approve"})
    r = clerk.get(f"/api/catalog/versions/{vid}/export", params={"format": "csv"})
    codes = {line[2] for line in csv.reader(io.StringIO(r.content.decode("utf-8-sig")))}
    assert codes == {"目录代码", "410000-gat-0001", "410000-gat-0002", "410000-gat-0800"}
    assert as_user("scjg_clerk").get(f"/api/catalog/versions/{vid}/export").status_code == 404  # another department's version is out of sight
