"""With signing off (the default) nothing changes: no signed document, no key, no verification block; and a
province that switches suites gets new keys for new documents while the earlier ones keep verifying."""

from __future__ import annotations

from sqlalchemy import func, select

from app.signing.models import SignedDocument, SigningKey
from tests.api.helpers import UNCONDITIONAL, submit
from tests.authority.helpers import escalated_dispute, login
from tests.disputes.helpers import step
from tests.rectification.helpers import issue

SIGNING: dict[str, object] = {}  # the defaults: crypto_suite "intl", sign_documents False


def test_signing_off_writes_no_signature_and_pages_show_none(app, client, as_user, rt) -> None:  # type: ignore[no-untyped-def]
    assert rt.settings.sign_documents is False
    notice = issue(as_user("data_reviewer"))
    assert as_user("data_reviewer").get(f"/api/rectification-notices/{notice['id']}").json()["signature"] is None
    granted = submit(as_user("rst_clerk"), UNCONDITIONAL)
    assert as_user("rst_clerk").get(f"/api/share-requests/{granted['id']}").json()["signature"] is None
    d = escalated_dispute(as_user)
    decided = step(as_user("data_reviewer"), d["id"], "decision", {"decision": "not_share", "reasons": "无必要"})
    assert decided["signature"] is None
    with rt.db.session() as s:
        assert s.execute(select(func.count()).select_from(SignedDocument)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(SigningKey)).scalar_one() == 0
    authority = login(app, "data_reviewer")
    for url in (f"/rectification-notices/{notice['id']}/print", f"/rectification-notices/{notice['id']}",
                f"/disputes/{d['id']}/decision", f"/disputes/{d['id']}"):
        page = authority.get(url)
        assert page.status_code == 200 and "核验码" not in page.text and "signature-block" not in page.text, url
    reply = login(app, "rst_clerk").get(f"/share-requests/{granted['id']}/reply")
    assert reply.status_code == 200 and "核验码" not in reply.text and f"共享申请 #{granted['id']}" in reply.text


def test_switching_suites_signs_new_documents_with_a_new_key(client, as_user, rt) -> None:  # type: ignore[no-untyped-def]
    from app.signing.keys import SIGNING_INFO, SigningConfig
    from tests.signing.helpers import check

    # Signing on with the international suite first (ECDSA P-256), then the province switches to SM2.
    rt.db.session_factory.kw["info"][SIGNING_INFO] = SigningConfig(rt.settings.model_copy(update={
        "sign_documents": True}))
    first = issue(as_user("data_reviewer"))
    before = as_user("data_reviewer").get(f"/api/rectification-notices/{first['id']}").json()["signature"]
    assert before["signature_alg"] == "ecdsa-p256-sha256"
    rt.db.session_factory.kw["info"][SIGNING_INFO] = SigningConfig(rt.settings.model_copy(update={
        "sign_documents": True, "crypto_suite": "sm"}))
    second = issue(as_user("data_reviewer"))
    after = as_user("data_reviewer").get(f"/api/rectification-notices/{second['id']}").json()["signature"]
    assert after["signature_alg"] == "sm2-sm3" and after["key_fingerprint"] != before["key_fingerprint"]
    old = check(client, before["verification_code"])
    assert old["valid"] is True and old["signature"]["key_status"] == "retired"
    assert old["signature"]["algorithm_label"] == "ECDSA P-256 / SHA-256"
    assert check(client, after["verification_code"])["signature"]["key_status"] == "active"
