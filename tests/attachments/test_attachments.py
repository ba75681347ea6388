"""Attachments: stored outside the rows, size and type limits, checksum, parties only."""

from urllib.parse import quote

import pytest

from app.attachments.service import register_owner

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _owner() -> None:
    # A stand-in owner: the 公安厅 and the provincial data authority are its parties.
    @register_owner("test_case")
    def _rule(session, actor, owner_id):  # type: ignore[no-untyped-def]
        return actor.department_code in ("410000-gat", "410000-data")


def _upload(client, name: str, data: bytes, owner_id: int = 1):  # type: ignore[no-untyped-def]
    return client.post("/api/attachments", data={"owner_type": "test_case", "owner_id": str(owner_id),
                                                 "note": "情况说明"},
                       files={"file": (name, data, "application/octet-stream")})


def test_upload_list_download_with_checksum(client, as_user, rt) -> None:
    clerk = as_user("gat_clerk")
    r = _upload(clerk, "情况说明.pdf", PDF)
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["content_type"] == "application/pdf" and meta["size"] == len(PDF)
    listed = as_user("data_reviewer").get("/api/attachments", params={"owner_type": "test_case", "owner_id": 1})
    assert [a["id"] for a in listed.json()] == [meta["id"]]
    got = as_user("data_reviewer").get(meta["url"])
    assert got.status_code == 200 and got.content == PDF
    assert "filename*=UTF-8''" in got.headers["content-disposition"]
    # The bytes live in the attachment folder, not in the database row.
    stored = list((rt.settings.attachments_dir).rglob(meta["sha256"]))
    assert len(stored) == 1 and stored[0].read_bytes() == PDF


def test_outsiders_may_not_read_or_attach(client, as_user) -> None:
    meta = _upload(as_user("gat_clerk"), "a.pdf", PDF).json()
    outsider = as_user("scjg_clerk")
    assert outsider.get(meta["url"]).status_code == 404
    assert _upload(outsider, "b.pdf", PDF).status_code == 404
    assert outsider.get("/api/attachments", params={"owner_type": "test_case", "owner_id": 1}).status_code == 404


def test_too_large_and_forbidden_types_are_refused(client, as_user, rt) -> None:
    clerk = as_user("gat_clerk")
    big = PDF + b"0" * (rt.settings.attachment_max_bytes + 1)
    r = _upload(clerk, "big.pdf", big)
    assert r.status_code == 413
    assert r.json()["detail"]["code"] in ("attachment_too_large", "body_too_large")
    r = _upload(clerk, "run.exe", b"MZ\x90\x00" + b"\x00" * 100)
    assert r.status_code == 422 and r.json()["detail"]["code"] == "attachment_type_forbidden"
    r = _upload(clerk, "fake.pdf", b"<html>not a pdf</html>")
    assert r.status_code == 422 and r.json()["detail"]["code"] == "attachment_type_forbidden"
    assert _upload(clerk, "empty.pdf", b"").status_code == 422
    assert list(rt.settings.attachments_dir.rglob("*")) == [] or all(
        p.is_dir() for p in rt.settings.attachments_dir.rglob("*"))


def test_a_tampered_file_is_detected(client, as_user, rt) -> None:
    meta = _upload(as_user("gat_clerk"), "a.pdf", PDF).json()
    path = next(rt.settings.attachments_dir.rglob(meta["sha256"]))
    path.write_bytes(PDF.replace(b"1.7", b"1.4"))
    r = as_user("gat_clerk").get(meta["url"])
    assert r.status_code == 409 and r.json()["detail"]["code"] == "attachment_corrupted"


def test_just_over_the_limit_is_refused_by_the_service_not_the_proxy(client, as_user, rt) -> None:
    r = _upload(as_user("gat_clerk"), "edge.pdf", PDF + b"0" * (rt.settings.attachment_max_bytes - len(PDF) + 1))
    assert r.status_code == 413 and r.json()["detail"]["code"] == "attachment_too_large"


@pytest.mark.parametrize("sent, shown", [
    # U+202E (right-to-left override) would show "reportfdp.exe" reversed as "reportexe.pdf".
    ("report\u202egnp.pdf", "reportgnp.pdf"),
    ("\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c情况说明.pdf", "情况说明.pdf"),
    ("情况说明.pdf\u200b", "情况说明.pdf"),  # a zero-width space hid the real end of the name
    ("C:\\Users\\张三\\Desktop\\情况说明.pdf", "情况说明.pdf"),  # a full Windows path, as old browsers send
    ("..\\..\\etc\\passwd.pdf", "passwd.pdf"),
    ("整改\u3000\u3000报告\u00a0(第二版)\u2028.pdf", "整改 报告 (第二版) .pdf"),
    ("  说明.pdf. ", "说明.pdf"),  # Windows drops trailing dots and spaces when it saves the file
    ("a<b>:c|?*.pdf", "a_b__c___.pdf"),
])
def test_display_names_lose_direction_controls_and_paths(client, as_user, sent: str, shown: str) -> None:
    r = _upload(as_user("gat_clerk"), sent, PDF)
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["filename"] == shown
    listed = as_user("data_reviewer").get("/api/attachments", params={"owner_type": "test_case", "owner_id": 1})
    assert [a["filename"] for a in listed.json()] == [shown]
    got = as_user("data_reviewer").get(meta["url"])
    assert got.headers["content-disposition"].endswith(quote(shown))


@pytest.mark.parametrize("sent", ["invoice\u202efdp.exe", "photo.png\u202e", "\u202e\u200b.pdf", "\\\\"])
def test_the_extension_checked_is_the_one_shown(client, as_user, sent: str) -> None:
    # PDF bytes under a name that, once its controls are gone, does not end in .pdf: refused.
    r = _upload(as_user("gat_clerk"), sent, PDF)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["code"] in ("attachment_type_forbidden", "attachment_filename_invalid")


def test_controls_a_hand_written_request_may_send_become_spaces_or_go() -> None:
    from app.attachments.service import clean_filename

    # Browsers and HTTP clients percent-encode these in a multipart filename; a script need not.
    assert clean_filename('整改\t报告\r\n"终稿"\x07.pdf') == "整改 报告 _终稿_.pdf"
