"""Issue 15, "Done when", in one case on the migrated database: a province running China's commercial
cryptography (GOVFLOW_CRYPTO_SUITE=sm, documents signed, attachments encrypted) issues a rectification
notice. The notice is SM2-signed when issued; an anonymous visitor confirms it on the public verification
page; the department's report carries a PDF that is kept SM4-encrypted (no marker string in any file under
the attachments folder) and downloads intact with its SM3 checksum; tampering with the stored notice, its
signature or the notice row is detected; the audit chain verifies, its events HMAC-SM3.

The parts are tested in depth elsewhere: tests/crypto (known answers, OpenSSL cross-checks), tests/signing,
tests/attachments, tests/audit/test_chain_algorithms.py.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.runtime import Runtime
from tests.attachments.test_encryption import K1
from tests.authority.helpers import login
from tests.rectification.helpers import issue, report
from tests.signing.helpers import check, runtime, stored, tampered

MARKER = "第二十六条-明文标记-7F3A".encode()
PDF = b"%PDF-1.7\n(" + MARKER + b")\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"


@pytest.fixture
def rt(db_url: str, frozen_clock: object, tmp_path: Path) -> Iterator[Runtime]:
    built = runtime(db_url, tmp_path, crypto_suite="sm", sign_documents=True, encrypt_attachments=True,
                    master_keys={"k2026": K1}, master_key_id="k2026")
    yield built
    built.db.dispose()


def test_a_signed_notice_an_encrypted_report_and_a_chain_under_sm(rt, app, client, as_user) -> None:  # type: ignore[no-untyped-def]
    authority, clerk, admin = as_user("data_reviewer"), as_user("rst_clerk"), as_user("demo_admin")

    notice = issue(authority)
    signature = authority.get(f"/api/rectification-notices/{notice['id']}").json()["signature"]
    assert signature["number"] == notice["number"] and signature["signature_alg"] == "sm2-sm3"
    printed = login(app, "data_reviewer").get(f"/rectification-notices/{notice['id']}/print").text
    assert signature["verification_code"] in printed and notice["number"] in printed

    # Anyone, without logging in, confirms who signed what and when.
    result = check(client, signature["verification_code"], notice["number"])
    assert result["valid"] is True, result
    assert result["document"]["number"] == notice["number"]
    assert result["document"]["signer_department_name"] == "河南省行政审批和政务信息管理局"
    assert result["signature"]["algorithm"] == "sm2-sm3"

    # The department reports with a PDF: kept SM4-encrypted, served intact.
    r = clerk.post("/api/attachments", data={"owner_type": "rectification_notice", "owner_id": str(notice["id"])},
                   files={"file": ("整改报告.pdf", PDF, "application/pdf")})
    assert r.status_code == 201, r.text
    meta = r.json()
    assert (meta["encrypted"], meta["cipher"], meta["checksum"]["alg"]) == (True, "sm4-gcm", "sm3")
    report(clerk, notice["id"], attachment_ids=[meta["id"]])
    files = [p for p in Path(rt.settings.attachments_dir).rglob("*") if p.is_file()]
    assert files and all(MARKER not in p.read_bytes() for p in files)
    got = authority.get(meta["url"])
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["x-checksum-sm3"] == hashlib.new("sm3", PDF).hexdigest()

    # Tampering with the stored document, its signature or the notice itself is detected.
    row = stored(rt, signature["verification_code"])
    content = row["content"]
    with tampered(rt, "signed_document", "content", row["id"], content.replace("整改", "整顿", 1)):
        assert check(client, signature["verification_code"])["valid"] is False
    flipped = bytearray(base64.b64decode(row["signature"]))
    flipped[-1] ^= 1
    with tampered(rt, "signed_document", "signature", row["id"], base64.b64encode(bytes(flipped)).decode()):
        assert check(client, signature["verification_code"])["valid"] is False
    with tampered(rt, "rectification_notice", "requirements", notice["id"], "不必整改"):
        changed = check(client, signature["verification_code"])
        assert changed["valid"] is False and changed["code"] == "record_changed", changed
    assert check(client, signature["verification_code"])["valid"] is True

    # Every step is on the audit chain, which verifies under HMAC-SM3.
    audit = admin.get("/api/admin/audit/verify").json()
    assert audit["ok"] is True, audit
    assert [s["alg"] for s in audit["segments"]][-1] == "hmac-sm3" and "HMAC-SM3" in audit["message"]
