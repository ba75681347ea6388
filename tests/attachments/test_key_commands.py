"""`govflow rotate-keys` and `govflow encrypt-attachments`: counts printed, one Chinese line per failure, exit
codes like the other commands, safe to re-run."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.attachments.models import Attachment
from app.attachments.service import register_owner
from app.cli import main
from app.core.config import get_settings
from app.crypto.keys import parse
from tests.attachments.test_encryption import K1, K2, MARKER, pdf
from tests.conftest import SECRET

K3 = base64.b64encode(hashlib.sha256(b"test master key three").digest()).decode()


@pytest.fixture(autouse=True)
def _owner() -> None:
    @register_owner("test_case")
    def _rule(session, actor, owner_id):  # type: ignore[no-untyped-def]
        return actor.department_code in ("410000-gat", "410000-data")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, rt) -> Iterator[pytest.MonkeyPatch]:  # type: ignore[no-untyped-def]
    """The CLI's settings: the test's database and attachment folder, the SM suite, master key k1."""
    monkeypatch.setenv("GOVFLOW_SECRET_KEY", SECRET)
    monkeypatch.setenv("GOVFLOW_ENVIRONMENT", "test")
    monkeypatch.setenv("GOVFLOW_DATABASE_URL", rt.settings.database_url)
    monkeypatch.setenv("GOVFLOW_ATTACHMENTS_DIR", str(rt.settings.attachments_dir))
    monkeypatch.setenv("GOVFLOW_CRYPTO_SUITE", "sm")
    monkeypatch.setenv("GOVFLOW_MASTER_KEYS", json.dumps({"k1": K1}))
    monkeypatch.setenv("GOVFLOW_MASTER_KEY_ID", "k1")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _run(capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch, *argv: str, **variables: str
         ) -> tuple[int, str, str]:
    for name, value in variables.items():
        env.setenv(f"GOVFLOW_{name.upper()}", value)
    get_settings.cache_clear()
    capsys.readouterr()  # what the service logged before (its access lines)
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def _upload(client, name: str, data: bytes) -> dict:  # type: ignore[no-untyped-def,type-arg]
    r = client.post("/api/attachments", data={"owner_type": "test_case", "owner_id": "1"},
                    files={"file": (name, data, "application/pdf")})
    assert r.status_code == 201, r.text
    return r.json()


def _wrapped_ids(rt) -> list[str | None]:  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        return [parse(w)[0] if w else None for w in session.execute(
            select(Attachment.wrapped_key).order_by(Attachment.id)).scalars()]


def test_rotate_keys_reseals_prints_counts_and_resumes(
        client, as_user, rt, env, capsys) -> None:  # type: ignore[no-untyped-def]
    rt.settings = rt.settings.model_copy(update={"crypto_suite": "sm", "encrypt_attachments": True,
                                                 "master_keys": {"k1": K1}, "master_key_id": "k1"})
    clerk = as_user("gat_clerk")
    metas = [_upload(clerk, "a.pdf", pdf()), _upload(clerk, "b.pdf", pdf(b"b"))]
    keys = json.dumps({"k1": K1, "k2": K2})
    code, out, err = _run(capsys, env, "rotate-keys", master_keys=keys, master_key_id="k2")
    assert code == 0, err
    assert "当前主密钥：k2，封装算法 SM4-GCM（GB/T 32907）" in out and "附件数据密钥：重新封装 2 个" in out
    assert _wrapped_ids(rt) == ["k2", "k2"]
    code, out, _ = _run(capsys, env, "rotate-keys")
    assert code == 0 and "附件数据密钥：重新封装 0 个" in out
    # k1 gone from the service's settings: the files still download (their keys are under k2 now).
    rt.settings = rt.settings.model_copy(update={"master_keys": {"k2": K2}, "master_key_id": "k2"})
    assert [clerk.get(m["url"]).content for m in metas] == [pdf(), pdf(b"b")]


def test_rotate_keys_names_the_master_key_it_lacks(
        client, as_user, rt, env, capsys) -> None:  # type: ignore[no-untyped-def]
    rt.settings = rt.settings.model_copy(update={"crypto_suite": "sm", "encrypt_attachments": True,
                                                 "master_keys": {"k1": K1}, "master_key_id": "k1"})
    meta = _upload(as_user("gat_clerk"), "a.pdf", pdf())
    code, out, err = _run(capsys, env, "rotate-keys", master_keys=json.dumps({"k3": K3}), master_key_id="k3")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"附件 #{meta['id']}" in err and "“k1”未配置" in err
    assert _wrapped_ids(rt) == ["k1"]
    code, _, err = _run(capsys, env, "rotate-keys", master_key_id="k9")
    assert code == 2 and "配置无效" in err and "k9" in err


def test_encrypt_attachments_encrypts_old_files_and_removes_the_plaintext(
        client, as_user, rt, env, capsys) -> None:  # type: ignore[no-untyped-def]
    clerk = as_user("gat_clerk")
    # Uploaded before encryption was on: two rows share one content-addressed file.
    metas = [_upload(clerk, "a.pdf", pdf()), _upload(clerk, "a-again.pdf", pdf()), _upload(clerk, "b.pdf", pdf(b"b"))]
    root: Path = rt.settings.attachments_dir
    assert len([p for p in root.rglob("*") if p.is_file()]) == 2
    code, _, err = _run(capsys, env, "encrypt-attachments")
    assert code == 2 and "GOVFLOW_ENCRYPT_ATTACHMENTS" in err
    code, out, err = _run(capsys, env, "encrypt-attachments", "--batch", "2", encrypt_attachments="true")
    assert code == 0, err
    assert "已加密附件 3 个，删除明文文件 2 个" in out
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) == 3 and all(p.relative_to(root).parts[0] == "enc" for p in files)
    assert not any(MARKER in p.read_bytes() for p in files)
    assert _wrapped_ids(rt) == ["k1", "k1", "k1"]
    rt.settings = rt.settings.model_copy(update={"crypto_suite": "sm", "master_keys": {"k1": K1},
                                                 "master_key_id": "k1"})
    for meta, data in zip(metas, (pdf(), pdf(), pdf(b"b"))):
        got = clerk.get(meta["url"])
        assert got.status_code == 200 and got.content == data
    listed = clerk.get("/api/attachments", params={"owner_type": "test_case", "owner_id": 1}).json()
    assert {a["checksum"]["alg"] for a in listed} == {"sm3"} and all(a["encrypted"] for a in listed)
    code, out, _ = _run(capsys, env, "encrypt-attachments")
    assert code == 0 and "已加密附件 0 个，删除明文文件 0 个" in out


def test_encrypt_attachments_leaves_a_damaged_file_and_says_so(
        client, as_user, rt, env, capsys) -> None:  # type: ignore[no-untyped-def]
    clerk = as_user("gat_clerk")
    good, bad = _upload(clerk, "a.pdf", pdf()), _upload(clerk, "b.pdf", pdf(b"b"))
    path = rt.settings.attachments_dir / bad["sha256"][:2] / bad["sha256"]
    path.write_bytes(pdf(b"c"))
    code, out, err = _run(capsys, env, "encrypt-attachments", encrypt_attachments="true")
    assert code == 1
    assert err.count("\n") == 1 and f"附件 #{bad['id']}（b.pdf）未加密" in err
    assert "已加密附件 1 个" in out and "1 个未加密" in out
    assert _wrapped_ids(rt) == ["k1", None] and path.read_bytes() == pdf(b"c")
    assert not (rt.settings.attachments_dir / good["sha256"][:2] / good["sha256"]).exists()
