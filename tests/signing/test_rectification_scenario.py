"""Issue 15's scenario: with SM2 signing on, an authority issues a rectification notice; its printed page
carries the number and a verification code; the public /verify page confirms it without login; a changed
byte in the stored content, in the signature or in the notice itself is detected, each with its reason;
and the signature verifies with the OpenSSL command line, an implementation GovFlow does not use."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.authority.helpers import csrf, login
from tests.rectification.helpers import issue
from tests.signing.helpers import CODE, check, stored, tampered

AUTHORITY = "河南省行政审批和政务信息管理局"


def _signed_notice(as_user) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    notice = issue(as_user("data_reviewer"))
    shown = as_user("data_reviewer").get(f"/api/rectification-notices/{notice['id']}").json()
    return notice, shown["signature"]


def test_issued_notice_is_printed_with_its_code_and_verified_publicly(app, client, as_user) -> None:  # type: ignore[no-untyped-def]
    notice, signature = _signed_notice(as_user)
    assert signature["number"] == notice["number"] == "豫数整改〔2026〕1号"
    assert CODE.match(signature["verification_code"]), signature
    assert signature["signature_alg"] == "sm2-sm3" and len(signature["key_fingerprint"]) == 16
    # The printed notice: number, code, algorithm, key, and where to verify.
    printed = login(app, "data_reviewer").get(f"/rectification-notices/{notice['id']}/print").text
    for text in (notice["number"], signature["verification_code"], "SM2 / SM3", signature["key_fingerprint"],
                 "核验（无需登录）：访问 /verify，输入核验码"):
        assert text in printed, text
    # The department that received it sees the same on the case page.
    case = login(app, "rst_clerk").get(f"/rectification-notices/{notice['id']}").text
    assert signature["verification_code"] in case and "电子签名" in case

    # Anyone, without logging in: the page, then the API.
    form = client.get("/verify")
    assert form.status_code == 200 and "核验码" in form.text
    r = client.post("/verify", data={"csrf_token": csrf(form.text), "code": signature["verification_code"],
                                     "number": notice["number"]})
    assert r.status_code == 200, r.text
    assert 'data-status="valid"' in r.text and "有效" in r.text
    for text in (AUTHORITY, "整改通知书", notice["number"], "SM2 / SM3", signature["key_fingerprint"], "现行密钥",
                 "河南省人力资源和社会保障厅"):
        assert text in r.text, text
    result = check(client, signature["verification_code"], notice["number"])
    assert result["valid"] is True and result["status_label"] == "有效" and result["reasons"] == []
    assert result["document"]["signer_department_name"] == AUTHORITY
    assert result["document"]["type_label"] == "整改通知书" and result["document"]["number"] == notice["number"]
    assert "限期整改" in result["document"]["summary"]
    assert result["signature"]["key_status"] == "active"
    # The code alone suffices; typed in lower case, with blanks, or with O for 0, it is still the code.
    typed = signature["verification_code"].lower().replace("-", " ")
    assert check(client, typed)["valid"] is True


def test_a_changed_byte_anywhere_makes_verification_fail_with_its_reason(client, as_user, rt) -> None:  # type: ignore[no-untyped-def]
    notice, signature = _signed_notice(as_user)
    code = signature["verification_code"]
    row = stored(rt, code)
    assert check(client, code)["valid"] is True

    # 1. The stored content (one character of the facts).
    altered = row["content"].replace("未按要求", "已按要求", 1)
    assert altered != row["content"]
    with tampered(rt, "signed_document", "content", row["id"], altered):
        result = check(client, code, notice["number"])
        assert result["valid"] is False and result["status_label"] == "无效"
        assert result["code"] == "content_altered" and "文书内容在签名后被改动" in result["message"]
        page = client.get("/verify", params={"code": code})
        assert 'data-status="invalid"' in page.text and "文书内容在签名后被改动" in page.text
    assert check(client, code)["valid"] is True  # restored

    # 2. The signature (the last byte of its DER).
    der = bytearray(base64.b64decode(row["signature"]))
    der[-1] ^= 0x01
    with tampered(rt, "signed_document", "signature", row["id"], base64.b64encode(bytes(der)).decode()):
        result = check(client, code)
        assert result["valid"] is False and result["code"] == "signature_invalid"
        assert "签名值无效" in result["message"]
    assert check(client, code)["valid"] is True

    # 3. The notice itself, after it was signed: the record it states is no longer the live one.
    with tampered(rt, "rectification_notice", "requirements", notice["id"], "只需口头说明即可。"):
        result = check(client, code)
        assert result["valid"] is False and result["code"] == "record_changed"
        assert "业务记录在签名后被改动" in result["message"] and "整改要求" in result["message"]
        page = client.get("/verify", params={"code": code})
        assert "业务记录在签名后被改动" in page.text
    assert check(client, code)["valid"] is True

    # 4. The registered number (another document's number on this row).
    with tampered(rt, "signed_document", "number", row["id"], "豫数整改〔2026〕99号"):
        result = check(client, code)
        assert result["valid"] is False and result["code"] == "registration_mismatch"


def test_unknown_code_or_wrong_number_gives_the_same_answer(client, as_user) -> None:  # type: ignore[no-untyped-def]
    notice, signature = _signed_notice(as_user)
    unknown = check(client, "0000-0000-0000-0000", expect=404)
    wrong_number = check(client, signature["verification_code"], "豫数整改〔2026〕2号", expect=404)
    for answer in (unknown, wrong_number):
        assert answer["status"] == "not_found" and answer["message"] == "未找到该核验码对应的文书"
        assert answer["document"] is None and answer["detail"]["code"] == "signed_document_not_found"
    # The same shape as an answer on a document (plus the API's usual "detail" of a 404).
    assert set(unknown) - {"detail"} == set(check(client, signature["verification_code"]))
    page = client.get("/verify", params={"code": "0000-0000-0000-0000", "number": notice["number"]})
    assert page.status_code == 200 and "未找到该核验码对应的文书" in page.text
    # The number typed is shown in its field and as the visitor's input, never in the result's own words.
    assert notice["number"] not in page.text.split("您输入的")[0].rsplit("</form>", 1)[1]
    # Malformed input: a clear 422, and what was typed is shown only inside the form, escaped.
    r = client.get("/api/verify", params={"code": "<b>假</b>"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "verification_code_invalid"
    assert client.get("/api/verify").json()["detail"]["code"] == "verification_code_required"
    page = client.get("/verify", params={"code": "<b>假</b>"})
    assert page.status_code == 422 and "<b>假</b>" not in page.text and "&lt;b&gt;假&lt;/b&gt;" in page.text
    assert client.get("/api/verify", params={"code": "x" * 65}).status_code == 422


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the OpenSSL command line is not installed")
def test_signature_verifies_with_the_openssl_command_line(as_user, rt, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, signature = _signed_notice(as_user)
    row = stored(rt, signature["verification_code"])
    (tmp_path / "pub.pem").write_text(row["public_key_pem"])
    (tmp_path / "content").write_bytes(row["content"].encode("utf-8"))
    (tmp_path / "sig.der").write_bytes(base64.b64decode(row["signature"]))

    def openssl_verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "content",
             "-sigfile", "sig.der", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"],
            cwd=tmp_path, capture_output=True, text=True, check=False)

    done = openssl_verify()
    assert done.returncode == 0 and "Signature Verified Successfully" in done.stdout, done.stdout + done.stderr
    (tmp_path / "content").write_bytes(row["content"].replace("整改", "正改", 1).encode("utf-8"))
    done = openssl_verify()
    assert done.returncode != 0 and "Signature Verification Failure" in done.stdout + done.stderr
