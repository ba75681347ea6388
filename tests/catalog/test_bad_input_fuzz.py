"""Found by fuzzing: catalog requests that were 500s are a 4xx (the export now works) and change nothing."""

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.catalog.helpers import add, entry_body, new_draft

BIG = 2**63  # one past the largest 64-bit integer


def _refused(r, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.json()["detail"]["code"] == code
    assert r.json()["detail"]["message"]


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/catalog/versions/{}"), ("GET", "/api/catalog/versions/{}/changes"),
    ("GET", "/api/catalog/versions/{}/review-aids"), ("GET", "/api/catalog/versions/{}/history"),
    ("GET", "/api/catalog/versions/{}/export"), ("POST", "/api/catalog/versions/{}/submit"),
    ("POST", "/api/catalog/versions/{}/discard"),
    ("POST", "/api/catalog/versions/{}/entries/410000-gat-0001/withdraw"),
    ("DELETE", "/api/catalog/versions/{}/entries/410000-gat-0001"),
])
def test_huge_version_id(client, as_user, method, path) -> None:
    _refused(as_user("gat_clerk").request(method, path.format(BIG)), 422, "number_out_of_range")


@pytest.mark.parametrize("path, params", [
    ("/api/catalog/entries", {"offset": BIG}),
    # page * page_size overflowed even for page = 2**63 - 1, which passes validation.
    ("/api/catalog/entries", {"page": 2**63 - 1}),
    ("/api/catalog/versions", {"offset": BIG}),
    ("/api/catalog/versions", {"instance_id": BIG}),
    ("/api/catalog/versions/compare", {"from_version_id": BIG, "to_version_id": 1}),
    ("/api/catalog/update-duties", {"offset": BIG}),
])
def test_huge_numbers_in_the_query(client, as_user, path, params) -> None:
    _refused(as_user("gat_clerk").get(path, params=params), 422, "number_out_of_range")


@pytest.mark.parametrize("path, params", [
    ("/api/catalog/entries/%00", {}),
    ("/api/catalog/entries", {"department_code": "\x00"}),
    ("/api/catalog/entries", {"q": "\x00"}),
    ("/api/catalog/versions", {"department_code": "x\x00"}),
])
def test_nul_in_the_query_or_path(client, as_user, path, params) -> None:
    _refused(as_user("gat_clerk").get(path, params=params), 422, "nul_character")


def test_nul_in_a_note_creates_no_version(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    before = clerk.get("/api/catalog/versions").json()
    _refused(clerk.post("/api/catalog/versions", json={"note": "年度\x00更新"}), 422, "nul_character")
    assert clerk.get("/api/catalog/versions").json() == before


def test_nul_in_a_draft_entry_is_refused(client, as_user) -> None:
    # Draft entries are JSON: SQLite kept the NUL and PostgreSQL's json took the escape, so the failure
    # (a 500 on PostgreSQL) came only when the authority published the version.
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    before = clerk.get(f"/api/catalog/versions/{vid}").json()["entries"]
    r = clerk.post(f"/api/catalog/versions/{vid}/entries", json=entry_body(summary="出入境\x00证件信息"))
    _refused(r, 422, "nul_character")
    items = [{"name": "证件\x00号码", "type": "字符型", "length": 32}]
    r = clerk.post(f"/api/catalog/versions/{vid}/entries", json=entry_body(items=items))
    _refused(r, 422, "nul_character")
    assert clerk.get(f"/api/catalog/versions/{vid}").json()["entries"] == before


def test_nul_in_an_imported_csv_imports_nothing(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    before = clerk.get(f"/api/catalog/versions/{vid}").json()["entries"]
    exported = clerk.get(f"/api/catalog/versions/{vid}/export", params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    for row in rows[1:]:
        if row[2] == rows[1][2]:  # every row (one per data item) of the first entry
            row[3] = "居民\x00户籍信息"  # 资源名称
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    r = clerk.post(f"/api/catalog/versions/{vid}/import",
                   files={"file": ("catalog.csv", buf.getvalue().encode())})
    _refused(r, 422, "nul_character")
    assert clerk.get(f"/api/catalog/versions/{vid}").json()["entries"] == before


def test_xlsx_export_of_text_with_control_characters(client, as_user) -> None:
    # XLSX cannot hold control characters: openpyxl raised IllegalCharacterError, a 500.
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    add(clerk, vid, **entry_body(name="出入境\x01证件信息", summary="出入境证件\x0b办理信息\n用于身份核验"))
    r = clerk.get(f"/api/catalog/versions/{vid}/export", params={"format": "xlsx"})
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content)).active
    cells = {c.value for row in sheet.iter_rows() for c in row}
    assert "出入境证件信息" in cells
    assert "出入境证件办理信息\n用于身份核验" in cells
    # CSV keeps the text as stored.
    r = clerk.get(f"/api/catalog/versions/{vid}/export", params={"format": "csv"})
    assert "出入境\x01证件信息" in r.content.decode("utf-8-sig")


@pytest.mark.parametrize("raw", [b"Infinity", b"-Infinity", b"1e400"])
def test_infinite_number_in_a_task_form(client, as_user, raw) -> None:
    # A form field of type long ran int() on JSON Infinity (1e400 parses to it too): OverflowError, a 500.
    r = as_user("data_reviewer").post("/api/catalog/update-triggers", json={
        "kind": "law_revised", "document_number": "豫政〔2026〕12号", "document_date": "2026-10-30",
        "effective_on": "2026-11-02", "summary": "《河南省户籍管理条例》修订", "department_codes": ["410000-gat"]})
    assert r.status_code == 201, r.text
    clerk = as_user("gat_clerk")
    [task] = clerk.get("/api/tasks").json()["items"]
    r = clerk.post(f"/api/tasks/{task['id']}/complete", content=b'{"data": {"version_id": ' + raw + b"}}",
                   headers={"Content-Type": "application/json"})
    _refused(r, 422, "form_invalid")
    assert "必须是整数" in r.json()["detail"]["message"]
    assert clerk.get(f"/api/tasks/{task['id']}").json()["status"] == "open"
