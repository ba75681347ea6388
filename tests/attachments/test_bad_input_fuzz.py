"""Found by fuzzing: attachment requests that were 500s are a 422 and store nothing."""

import pytest

from tests.rectification.helpers import PDF, issue

BIG = 2**63  # one past the largest 64-bit integer


def _refused(r, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["code"] == code
    assert r.json()["detail"]["message"]


def _stored_files(rt) -> list:  # type: ignore[no-untyped-def,type-arg]
    root = rt.settings.attachments_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_huge_ids(client, as_user, rt) -> None:
    clerk = as_user("rst_clerk")
    _refused(clerk.get(f"/api/attachments/{BIG}"), "number_out_of_range")
    _refused(clerk.get("/api/attachments", params={"owner_type": "rectification_notice", "owner_id": BIG}),
             "number_out_of_range")
    r = clerk.post("/api/attachments", data={"owner_type": "rectification_notice", "owner_id": str(BIG)},
                   files={"file": ("整改报告.pdf", PDF, "application/pdf")})
    _refused(r, "number_out_of_range")
    assert _stored_files(rt) == []


def _multipart(owner_id: int, filename: bytes, note: bytes) -> tuple[bytes, str]:
    # Written by hand: HTTP clients percent-encode a NUL in a filename, a browser or script need not.
    boundary = "----govflow-fuzz"
    parts = [b'Content-Disposition: form-data; name="owner_type"\r\n\r\nrectification_notice',
             b'Content-Disposition: form-data; name="owner_id"\r\n\r\n' + str(owner_id).encode(),
             b'Content-Disposition: form-data; name="note"\r\n\r\n' + note,
             b'Content-Disposition: form-data; name="file"; filename="' + filename
             + b'"\r\nContent-Type: application/pdf\r\n\r\n' + PDF]
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return body + b"--" + boundary.encode() + b"--\r\n", f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("filename, note", [("整改\x00报告.pdf", "情况说明"), ("整改报告.pdf", "情况\x00说明")])
def test_nul_in_name_or_note_stores_nothing(client, as_user, rt, filename, note) -> None:
    notice = issue(as_user("data_reviewer"))
    clerk = as_user("rst_clerk")
    body, content_type = _multipart(notice["id"], filename.encode(), note.encode())
    r = clerk.post("/api/attachments", content=body, headers={"Content-Type": content_type})
    _refused(r, "nul_character")
    assert _stored_files(rt) == []
    assert clerk.get("/api/attachments", params={"owner_type": "rectification_notice",
                                                 "owner_id": notice["id"]}).json() == []
