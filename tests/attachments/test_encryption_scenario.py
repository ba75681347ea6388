"""Scenario (issue 15): a province turns on the SM suite and attachment encryption. A department answers a
rectification notice with a PDF; the file on disk holds no plaintext; the authority downloads the exact
bytes, checked with SM3; a changed byte is caught; the master key is rotated without rewriting a file and
the old key removed; files uploaded before encryption was on still download."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import select

from app.attachments.models import Attachment
from app.cli import main
from app.core.config import get_settings
from app.crypto.keys import parse
from tests.attachments.test_encryption import K1, K2
from tests.conftest import SECRET
from tests.rectification.helpers import issue, report

MARKER = "整改报告-内部标记-9C41".encode()
REPORT = (b"%PDF-1.7\n1 0 obj<</Type/Catalog>>endobj\n(" + MARKER + b")\n" + bytes(range(256)) * 400
          + b"\n(" + MARKER + b")\n%%EOF\n")
OLD = b"%PDF-1.4\n(before encryption was turned on)\n%%EOF\n"


def _everything_on_disk(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_sm4_encrypted_report_through_a_rectification_case(
        client, as_user, rt, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    authority, clerk = as_user("data_reviewer"), as_user("rst_clerk")
    notice = issue(authority)
    # An attachment from before the province turned encryption on.
    r = clerk.post("/api/attachments", data={"owner_type": "rectification_notice", "owner_id": str(notice["id"])},
                   files={"file": ("旧材料.pdf", OLD, "application/pdf")})
    assert r.status_code == 201 and r.json()["encrypted"] is False
    old = r.json()

    rt.settings = rt.settings.model_copy(update={"crypto_suite": "sm", "encrypt_attachments": True,
                                                 "master_keys": {"k2026": K1}, "master_key_id": "k2026"})
    r = clerk.post("/api/attachments", data={"owner_type": "rectification_notice", "owner_id": str(notice["id"])},
                   files={"file": ("整改报告.pdf", REPORT, "application/pdf")})
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["encrypted"] is True and meta["cipher"] == "sm4-gcm"
    assert meta["checksum"] == {"alg": "sm3", "value": hashlib.new("sm3", REPORT).hexdigest()}
    report(clerk, notice["id"], attachment_ids=[meta["id"]])

    # Every file under the attachments folder, temporary ones included: no marker, no PDF text.
    root = rt.settings.attachments_dir
    for path in _everything_on_disk(root):
        data = path.read_bytes()
        if path.name == old["sha256"]:
            assert data == OLD  # the old plaintext file, as it was
            continue
        assert MARKER not in data and b"/Type/Catalog" not in data, path
    assert not [p for p in _everything_on_disk(root) if p.name.startswith(".")]

    got = authority.get(meta["url"])
    assert got.status_code == 200 and got.content == REPORT
    assert hashlib.new("sm3", got.content).hexdigest() == got.headers["x-checksum-sm3"] == meta["checksum"]["value"]
    assert authority.get(old["url"]).content == OLD
    shown = authority.get(f"/api/rectification-notices/{notice['id']}").json()["attachments"]
    assert {a["filename"]: a["encrypted"] for a in shown} == {"旧材料.pdf": False, "整改报告.pdf": True}

    # A byte of the stored file changed: refused, no byte of it served; put back, served again.
    [encrypted] = [p for p in _everything_on_disk(root) if p.name != old["sha256"]]
    original = encrypted.read_bytes()
    tampered = bytearray(original)
    tampered[len(tampered) // 3] ^= 0x20
    encrypted.write_bytes(bytes(tampered))
    r = authority.get(meta["url"])
    assert r.status_code == 409 and r.json()["detail"]["code"] == "attachment_corrupted"
    encrypted.write_bytes(original)
    assert authority.get(meta["url"]).content == REPORT

    # Rotation to a new master key with the command an operator runs.
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in _everything_on_disk(root)}
    for name, value in {"SECRET_KEY": SECRET, "ENVIRONMENT": "test", "DATABASE_URL": rt.settings.database_url,
                        "ATTACHMENTS_DIR": str(root), "CRYPTO_SUITE": "sm", "MASTER_KEY_ID": "k2027",
                        "MASTER_KEYS": json.dumps({"k2026": K1, "k2027": K2})}.items():
        monkeypatch.setenv(f"GOVFLOW_{name}", value)
    get_settings.cache_clear()
    try:
        assert main(["rotate-keys"]) == 0
    finally:
        get_settings.cache_clear()
    assert "附件数据密钥：重新封装 1 个" in capsys.readouterr().out
    with rt.db.session() as session:
        wrapped = session.execute(select(Attachment.wrapped_key).where(Attachment.wrapped_key.is_not(None))).scalars()
        assert [parse(w)[0] for w in wrapped] == ["k2027"]
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in _everything_on_disk(root)} == before

    # The old master key removed from the service's settings.
    rt.settings = rt.settings.model_copy(update={"master_keys": {"k2027": K2}, "master_key_id": "k2027"})
    assert authority.get(meta["url"]).content == REPORT
    assert clerk.get(meta["url"]).content == REPORT
    assert authority.get(old["url"]).content == OLD
    # Someone who is not a party reads nothing, encrypted or not.
    assert as_user("gat_clerk").get(meta["url"]).status_code == 404
