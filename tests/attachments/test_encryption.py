"""Attachments encrypted at rest (issue 15, Art. 26): per-file data keys sealed by a master key from
settings, SM4-GCM and SM3 under the SM suite, decrypted and checked on an authorised download, master-key
rotation without rewriting a file."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import select

from app.attachments import storage
from app.attachments.models import Attachment
from app.attachments.service import register_owner, reseal_attachment_keys
from app.audit.models import AuditEvent
from app.crypto import rotation
from app.crypto.keys import KeyringError, parse

K1 = base64.b64encode(hashlib.sha256(b"test master key one").digest()).decode()
K2 = base64.b64encode(hashlib.sha256(b"test master key two").digest()).decode()
MARKER = "绝密标记-GOVFLOW-7F3A".encode()


def pdf(marker: bytes = MARKER, filler: int = 0) -> bytes:
    """A PDF whose text carries the marker, at its start and, past a filler, near its end."""
    return b"%PDF-1.7\n(" + marker + b")\n" + b"0" * filler + b"\n(" + marker + b")\n%%EOF\n"


@pytest.fixture(autouse=True)
def _owner() -> None:
    @register_owner("test_case")
    def _rule(session, actor, owner_id):  # type: ignore[no-untyped-def]
        return actor.department_code in ("410000-gat", "410000-data")


@pytest.fixture
def configure(rt):  # type: ignore[no-untyped-def]
    """Change the running service's crypto settings (the API reads rt.settings on each request)."""
    def apply(**update):  # type: ignore[no-untyped-def]
        rt.settings = rt.settings.model_copy(update=update)
        return rt.settings
    return apply


@pytest.fixture
def sm(configure):  # type: ignore[no-untyped-def]
    return configure(crypto_suite="sm", encrypt_attachments=True, master_keys={"k1": K1}, master_key_id="k1")


def _upload(client, name: str, data: bytes):  # type: ignore[no-untyped-def]
    r = client.post("/api/attachments", data={"owner_type": "test_case", "owner_id": "1"},
                    files={"file": (name, data, "application/octet-stream")})
    assert r.status_code == 201, r.text
    return r.json()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _row(rt, attachment_id: int) -> Attachment:  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        row = session.get(Attachment, attachment_id)
        session.expunge(row)
        return row


def _refused(r, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 409, r.text
    assert r.json()["detail"]["code"] == code and r.json()["detail"]["message"]


def test_an_encrypted_upload_leaves_no_plaintext_on_disk_and_downloads_exactly(client, as_user, rt, sm) -> None:
    clerk = as_user("gat_clerk")
    # One small file and one of several chunks (the marker on both sides of the chunk boundaries).
    small, large = pdf(), pdf(filler=300 * 1024)
    metas = [_upload(clerk, "情况说明.pdf", small), _upload(clerk, "附件二.pdf", large)]
    root = rt.settings.attachments_dir
    files = _files(root)
    assert len(files) == 2  # no temporary file left behind, no plaintext copy
    for path in files:
        content = path.read_bytes()
        assert MARKER not in content, path
        assert content.startswith(b"GFAE\x01\x07sm4-gcm")
        assert path.relative_to(root).parts[0] == "enc"
    for meta, data in zip(metas, (small, large)):
        assert meta["encrypted"] is True and meta["cipher"] == "sm4-gcm"
        assert meta["checksum"] == {"alg": "sm3", "value": hashlib.new("sm3", data).hexdigest()}
        assert meta["sha256"] == hashlib.sha256(data).hexdigest() and meta["size"] == len(data)
        got = as_user("data_reviewer").get(meta["url"])
        assert got.status_code == 200 and got.content == data
        assert got.headers["x-checksum-sm3"] == meta["checksum"]["value"]
        assert got.headers["x-checksum-sha256"] == meta["sha256"]
    # Equal files are not told apart on disk: two uploads of the same bytes, two files, two keys.
    again = _upload(clerk, "情况说明（再次）.pdf", small)
    assert len(_files(root)) == 3
    first, second = _row(rt, metas[0]["id"]), _row(rt, again["id"])
    assert first.storage_name != second.storage_name and first.wrapped_key != second.wrapped_key
    assert parse(first.wrapped_key)[:2] == ("k1", "sm4-gcm")


def test_the_file_is_sm4_gcm_under_its_own_data_key(client, as_user, rt, sm) -> None:
    """Read the file with the cryptography package directly, as another program would (format, cipher)."""
    data = pdf()
    meta = _upload(as_user("gat_clerk"), "a.pdf", data)
    row = _row(rt, meta["id"])
    key = rt.settings.keyring().open(row.wrapped_key, f"attachment:{row.storage_name}")
    assert len(key) == 16  # an SM4 key
    raw = (rt.settings.attachments_dir / "enc" / row.storage_name[:2] / row.storage_name).read_bytes()
    header_len = 4 + 2 + len(b"sm4-gcm") + 12
    nonce, body, tag = raw[header_len - 12:header_len], raw[header_len:-16], raw[-16:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(raw[:header_len])
    assert dec.update(body) + dec.finalize() == data


@pytest.mark.parametrize("where", ["ciphertext", "tag", "header", "truncated", "appended"])
def test_a_changed_encrypted_file_is_refused(client, as_user, rt, sm, where: str) -> None:
    data = pdf(filler=70 * 1024)
    meta = _upload(as_user("gat_clerk"), "a.pdf", data)
    [path] = _files(rt.settings.attachments_dir)
    raw = bytearray(path.read_bytes())
    if where == "ciphertext":
        raw[len(raw) // 2] ^= 0x01
    elif where == "tag":
        raw[-1] ^= 0x80
    elif where == "header":
        raw[20] ^= 0x01  # a nonce byte (authenticated with the header)
    elif where == "truncated":
        del raw[-100:]
    else:
        raw += b"\x00"
    path.write_bytes(bytes(raw))
    _refused(as_user("gat_clerk").get(meta["url"]), "attachment_corrupted")


def test_a_missing_file_or_master_key_is_a_409_never_a_500(client, as_user, rt, sm, configure) -> None:
    clerk = as_user("gat_clerk")
    meta = _upload(clerk, "a.pdf", pdf())
    other = _upload(clerk, "b.pdf", pdf(b"other"))
    # The master key that sealed the data keys is no longer configured.
    configure(master_keys={"k2": K2}, master_key_id="k2")
    _refused(clerk.get(meta["url"]), "attachment_key_unavailable")
    # A different key under the same id (a wrong value in settings).
    configure(master_keys={"k1": K2}, master_key_id="k1")
    _refused(clerk.get(meta["url"]), "attachment_key_unavailable")
    # Production without any master key: the keyring itself cannot be built.
    configure(master_keys={}, master_key_id=None, environment="production", encrypt_attachments=False)
    _refused(clerk.get(meta["url"]), "attachment_key_unavailable")
    configure(master_keys={"k1": K1}, master_key_id="k1", environment="test", encrypt_attachments=True)
    assert clerk.get(meta["url"]).status_code == 200
    # A data key sealed for another file does not open here (the purpose binds it to its file).
    with rt.db.session() as session:
        a, b = session.get(Attachment, meta["id"]), session.get(Attachment, other["id"])
        a.wrapped_key = b.wrapped_key
        session.commit()
    _refused(clerk.get(meta["url"]), "attachment_key_unavailable")
    for path in _files(rt.settings.attachments_dir):
        path.unlink()
    _refused(clerk.get(other["url"]), "attachment_missing")


def test_plaintext_rows_keep_working_with_encryption_on_and_encrypted_ones_with_it_off(
        client, as_user, rt, configure) -> None:  # type: ignore[no-untyped-def]
    clerk = as_user("gat_clerk")
    plain = _upload(clerk, "旧.pdf", pdf(b"plain"))
    assert plain["encrypted"] is False and plain["checksum"] == {"alg": "sha256", "value": plain["sha256"]}
    assert (rt.settings.attachments_dir / plain["sha256"][:2] / plain["sha256"]).read_bytes() == pdf(b"plain")
    configure(crypto_suite="sm", encrypt_attachments=True, master_keys={"k1": K1}, master_key_id="k1")
    secret = _upload(clerk, "新.pdf", pdf())
    assert clerk.get(plain["url"]).content == pdf(b"plain")
    configure(encrypt_attachments=False)
    assert clerk.get(secret["url"]).content == pdf()
    # Encryption off under the SM suite: a plaintext file, checksummed with SM3.
    sm_plain = _upload(clerk, "明文.pdf", pdf(b"sm-plain"))
    assert sm_plain["encrypted"] is False and sm_plain["checksum"]["alg"] == "sm3"
    assert clerk.get(sm_plain["url"]).content == pdf(b"sm-plain")
    listed = clerk.get("/api/attachments", params={"owner_type": "test_case", "owner_id": 1}).json()
    assert [a["encrypted"] for a in listed] == [False, True, False]
    # The plaintext row's file changed: its checksum (SM3 here) says so.
    path = rt.settings.attachments_dir / sm_plain["sha256"][:2] / sm_plain["sha256"]
    path.write_bytes(pdf(b"sm-plaim"))
    _refused(clerk.get(sm_plain["url"]), "attachment_corrupted")


def test_the_intl_suite_encrypts_with_aes_gcm_and_checksums_with_sha256(client, as_user, rt, configure) -> None:
    configure(crypto_suite="intl", encrypt_attachments=True, master_keys={"k1": K1}, master_key_id="k1")
    meta = _upload(as_user("gat_clerk"), "a.pdf", pdf())
    assert meta["cipher"] == "aes-256-gcm" and meta["checksum"] == {"alg": "sha256", "value": meta["sha256"]}
    [path] = _files(rt.settings.attachments_dir)
    assert path.read_bytes().startswith(b"GFAE\x01\x0baes-256-gcm") and MARKER not in path.read_bytes()
    assert parse(_row(rt, meta["id"]).wrapped_key)[1] == "aes-256-gcm"
    assert as_user("gat_clerk").get(meta["url"]).content == pdf()


def test_refused_uploads_leave_no_file_when_encrypting(client, as_user, rt, sm) -> None:
    clerk = as_user("gat_clerk")
    r = clerk.post("/api/attachments", data={"owner_type": "test_case", "owner_id": "1"},
                   files={"file": ("big.pdf", pdf(filler=rt.settings.attachment_max_bytes), "application/pdf")})
    assert r.status_code == 413
    r = clerk.post("/api/attachments", data={"owner_type": "test_case", "owner_id": "1"},
                   files={"file": ("fake.pdf", b"<html>" + MARKER, "application/pdf")})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "attachment_type_forbidden"
    assert _files(rt.settings.attachments_dir) == []


def test_rotation_reseals_every_data_key_without_touching_a_file(client, as_user, rt, sm, configure) -> None:
    clerk = as_user("gat_clerk")
    configure(encrypt_attachments=False)
    plain_meta = _upload(clerk, "明文.pdf", pdf(b"plain"))
    configure(encrypt_attachments=True)
    metas = [_upload(clerk, f"{i}.pdf", pdf(f"marker-{i}".encode())) for i in range(5)]
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in _files(rt.settings.attachments_dir)}

    settings = configure(master_keys={"k1": K1, "k2": K2}, master_key_id="k2")
    with rt.db.session() as session:
        # Batches of two: three commits, each with its audit event.
        assert reseal_attachment_keys(session, settings.keyring(), batch=2) == 5
    with rt.db.session() as session:
        rows = session.execute(select(Attachment).order_by(Attachment.id)).scalars().all()
        assert [parse(r.wrapped_key)[0] for r in rows if r.cipher] == ["k2"] * 5
        assert [r.wrapped_key for r in rows if not r.cipher] == [None]
        events = session.execute(select(AuditEvent).where(AuditEvent.action == "crypto.keys_rotated")
                                 .order_by(AuditEvent.seq)).scalars().all()
        assert [(e.detail["kind"], e.detail["count"], e.detail["master_key_id"]) for e in events] == [
            ("attachments", 2, "k2"), ("attachments", 2, "k2"), ("attachments", 1, "k2")]
        # A second run changes nothing and writes no event.
        wrapped = [r.wrapped_key for r in rows]
        assert rotation.rotate_all(session, settings.keyring(), only=["attachments"]) == {"attachments": 0}
        assert [r.wrapped_key for r in session.execute(select(Attachment).order_by(Attachment.id)).scalars()] \
            == wrapped
        assert len(session.execute(select(AuditEvent).where(AuditEvent.action == "crypto.keys_rotated")
                                   ).scalars().all()) == 3
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in _files(rt.settings.attachments_dir)}
    assert after == before  # not one file rewritten
    # The old master key removed from settings: everything still downloads.
    configure(master_keys={"k2": K2}, master_key_id="k2")
    for i, meta in enumerate(metas):
        assert clerk.get(meta["url"]).content == pdf(f"marker-{i}".encode())
    assert clerk.get(plain_meta["url"]).content == pdf(b"plain")


def test_rotation_stops_on_a_key_it_cannot_open_and_resumes(client, as_user, rt, sm, configure) -> None:
    clerk = as_user("gat_clerk")
    metas = [_upload(clerk, f"{i}.pdf", pdf()) for i in range(3)]
    # The third file's key was sealed under a master key ("k0") this deployment no longer has.
    with rt.db.session() as session:
        row = session.get(Attachment, metas[2]["id"])
        k0 = configure(master_keys={"k0": K2}, master_key_id="k0").keyring()
        row.wrapped_key = k0.seal(b"\x00" * 16, storage.purpose(row.storage_name))
        session.commit()
    settings = configure(master_keys={"k1": K1, "k2": K2}, master_key_id="k2")
    with rt.db.session() as session:
        with pytest.raises(KeyringError, match=f"附件 #{metas[2]['id']}"):
            reseal_attachment_keys(session, settings.keyring(), batch=1)
    assert [parse(_row(rt, m["id"]).wrapped_key)[0] for m in metas] == ["k2", "k2", "k0"]
    settings = configure(master_keys={"k0": K2, "k1": K1, "k2": K2}, master_key_id="k2")
    with rt.db.session() as session:
        assert reseal_attachment_keys(session, settings.keyring()) == 1
    assert [parse(_row(rt, m["id"]).wrapped_key)[0] for m in metas] == ["k2", "k2", "k2"]
