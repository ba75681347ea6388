"""Share replies and adjudication decisions are signed when issued, by the provider and by the deciding
authority; an administrator lists and rotates departments' keys (what was signed before still verifies,
with its key shown as retired); keys are re-sealed under a new master key without touching signatures."""

from __future__ import annotations

import base64
import secrets

from sqlalchemy import func, select

from app.crypto.keys import Keyring, parse
from app.signing import documents
from app.signing.keys import reseal_signing_keys
from app.signing.models import SignedDocument, SigningKey
from tests.api.helpers import UNCONDITIONAL, review_task, submit
from tests.authority.helpers import escalated_dispute, login
from tests.disputes.helpers import step
from tests.rectification.helpers import issue
from tests.signing.helpers import CODE, check, runtime, tampered


def test_a_share_reply_is_signed_by_the_provider(app, client, as_user, rt) -> None:  # type: ignore[no-untyped-def]
    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    created = submit(clerk)
    assert clerk.get(f"/api/share-requests/{created['id']}").json()["signature"] is None  # no reply yet
    task = review_task(reviewer, created["instance_id"])
    r = reviewer.post(f"/api/tasks/{task['id']}/complete", json={"data": {
        "decision": "partial", "approved_items": ["姓名"], "terms": "仅用于资格认证，不得留存"}})
    assert r.status_code == 200, r.text
    signature = clerk.get(f"/api/share-requests/{created['id']}").json()["signature"]
    assert signature["number"] == "410000-gat共享复〔2026〕1号" and CODE.match(signature["verification_code"])
    result = check(client, signature["verification_code"], signature["number"])
    assert result["valid"] is True
    assert result["document"]["signer_department_name"] == "河南省公安厅"
    assert result["document"]["type_label"] == "政务数据共享申请答复书"
    assert "部分同意共享（姓名）" in result["document"]["summary"]
    # The printed reply carries it; the applicant reads it.
    printed = login(app, "rst_clerk").get(f"/share-requests/{created['id']}/reply")
    assert printed.status_code == 200
    for text in ("政务数据共享申请答复书", signature["number"], signature["verification_code"], "SM2 / SM3",
                 "核验（无需登录）：访问 /verify，输入核验码", "仅用于资格认证，不得留存"):
        assert text in printed.text, text
    # The reply row changed afterwards (the terms): the record no longer matches what was signed.
    with tampered(rt, "share_request", "terms", created["id"], "不限用途"):
        assert check(client, signature["verification_code"])["code"] == "record_changed"
    # A request granted at once (unconditional data) is signed too, by its provider, as the system's reply.
    instant = submit(clerk, UNCONDITIONAL)
    auto = clerk.get(f"/api/share-requests/{instant['id']}").json()["signature"]
    assert auto["number"] == "410000-scjg共享复〔2026〕1号"
    assert check(client, auto["verification_code"])["document"]["signer_department_name"] == "河南省市场监督管理局"
    # A request still under review has no reply to print.
    pending = submit(clerk)
    assert login(app, "rst_clerk").get(f"/share-requests/{pending['id']}/reply").status_code == 409


def test_an_adjudication_is_signed_by_the_deciding_authority(app, client, as_user, rt) -> None:  # type: ignore[no-untyped-def]
    d = escalated_dispute(as_user)
    authority = as_user("data_reviewer")
    assert authority.get(f"/api/disputes/{d['id']}").json()["signature"] is None
    decided = step(authority, d["id"], "decision", {"decision": "share", "items": ["姓名"], "terms": "仅核验身份",
                                                    "reasons": "养老金资格认证确需核验户籍状态",
                                                    "basis": "《河南省政务数据管理办法》第十七条"})
    signature = decided["signature"]
    assert signature["number"] == "410000-data评〔2026〕1号" and signature["title"] == "政务数据共享争议评判决定书"
    result = check(client, signature["verification_code"], signature["number"])
    assert result["valid"] is True and result["document"]["signer_department_name"] == "河南省行政审批和政务信息管理局"
    assert "予以共享（姓名）" in result["document"]["summary"]
    printed = login(app, "rst_clerk").get(f"/disputes/{d['id']}/decision").text
    assert signature["number"] in printed and signature["verification_code"] in printed and "/verify" in printed
    page = login(app, "gat_reviewer").get(f"/disputes/{d['id']}").text
    assert signature["verification_code"] in page
    with tampered(rt, "dispute", "reasons", d["id"], "无需理由"):
        result = check(client, signature["verification_code"])
        assert result["code"] == "record_changed" and "理由" in result["message"]
    # The share reply the dispute was about was signed by the provider earlier: two documents, two signers.
    with rt.db.session() as s:
        kinds = dict(s.execute(select(SignedDocument.doc_type, func.count()).group_by(SignedDocument.doc_type)).all())
    assert kinds == {"share_reply": 1, "adjudication": 1}


def test_rotation_retires_the_old_key_and_earlier_documents_still_verify(app, client, as_user, rt) -> None:  # type: ignore[no-untyped-def]
    authority, admin = as_user("data_reviewer"), as_user("demo_admin")
    first = issue(authority)
    before = authority.get(f"/api/rectification-notices/{first['id']}").json()["signature"]
    listed = admin.get("/api/admin/signing-keys").json()["keys"]
    assert [(k["department_code"], k["status"], k["fingerprint"]) for k in listed] == [
        ("410000-data", "active", before["key_fingerprint"])]
    assert "private_key_sealed" not in listed[0] and listed[0]["alg"] == "sm2-sm3"
    # Only an administrator rotates; a department without a key has none to rotate.
    assert authority.post("/api/admin/signing-keys/410000-data/rotate").status_code == 403
    r = admin.post("/api/admin/signing-keys/410000-gat/rotate")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "signing_key_missing"
    assert admin.post("/api/admin/signing-keys/nope/rotate").json()["detail"]["code"] == "department_not_found"
    rotated = admin.post("/api/admin/signing-keys/410000-data/rotate")
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["retired"]["fingerprint"] == before["key_fingerprint"]
    assert rotated.json()["retired"]["status"] == "retired" and rotated.json()["active"]["status"] == "active"
    new_fingerprint = rotated.json()["active"]["fingerprint"]
    # Signed before: still valid, its key shown as retired.
    old = check(client, before["verification_code"])
    assert old["valid"] is True and old["signature"]["key_fingerprint"] == before["key_fingerprint"]
    assert old["signature"]["key_status"] == "retired" and old["signature"]["key_status_label"].startswith("已停用")
    # Signed after: by the new key.
    second = issue(authority)
    after = authority.get(f"/api/rectification-notices/{second['id']}").json()["signature"]
    assert after["key_fingerprint"] == new_fingerprint != before["key_fingerprint"]
    assert check(client, after["verification_code"])["signature"]["key_status"] == "active"
    # The administrator's page lists both, with their dates; the history of the keys is audited.
    page = login(app, "demo_admin").get("/admin/signing-keys").text
    assert before["key_fingerprint"] in page and new_fingerprint in page and "已停用（历史密钥）" in page
    assert login(app, "data_reviewer").get("/admin/signing-keys").status_code == 403
    # Creating a first key: for a department without one; refused for one that has one.
    made = admin.post("/api/admin/signing-keys", json={"department_code": "410000-gat"})
    assert made.status_code == 201 and made.json()["status"] == "active"
    again = admin.post("/api/admin/signing-keys", json={"department_code": "410000-gat"})
    assert again.status_code == 409 and again.json()["detail"]["code"] == "signing_key_exists"
    from app.audit.models import AuditEvent
    with rt.db.session() as s:
        actions = s.execute(select(AuditEvent.action, AuditEvent.entity_id).where(
            AuditEvent.action.like("signing_key.%")).order_by(AuditEvent.seq)).all()
    assert [tuple(a) for a in actions] == [("signing_key.created", "410000-data"), ("signing_key.rotated", "410000-data"),
                                           ("signing_key.created", "410000-gat")]


def test_reseal_puts_every_private_key_under_the_new_master_key(as_user, client, rt, db_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    issue(as_user("data_reviewer"))
    submit(as_user("rst_clerk"), UNCONDITIONAL)  # 省市场监管局's key, on its first (automatic) reply
    old = rt.settings.keyring()
    new_master = base64.b64encode(secrets.token_bytes(32)).decode()
    both = Keyring({**old.keys, "k2027": base64.b64decode(new_master)}, "k2027", old.cipher)
    with rt.db.session() as s:
        assert reseal_signing_keys(s, both) == 2
        s.commit()
        assert reseal_signing_keys(s, both) == 0  # already under the current key
        sealed = s.execute(select(SigningKey.private_key_sealed, SigningKey.public_key_pem)).all()
    assert {parse(row[0])[0] for row in sealed} == {"k2027"}
    # A process that knows only the new master key signs with the same department key.
    only_new = runtime(db_url, tmp_path / "second", crypto_suite="sm", sign_documents=True,
                       master_keys={"k2027": new_master})
    try:
        with only_new.db.session() as s:
            from app.org.models import Department
            from app.rectification.models import RectificationNotice
            from app.signing.models import DocType
            from app.core.clock import clock

            notice = s.execute(select(RectificationNotice)).scalars().first()
            s.execute(SignedDocument.__table__.delete())
            doc = documents.sign(s, DocType.rectification_notice, notice.id, at=clock.now(), by="data_reviewer")
            s.commit()
            key = s.get(SigningKey, doc.signing_key_id)
            assert s.get(Department, key.department_id).code == "410000-data"
            code = doc.verification_code
    finally:
        only_new.db.dispose()
    assert check(client, code)["valid"] is True
