"""Backup and restore with encrypted attachments: the files travel encrypted, the master keys do not (the
manifest and the restore summary name the ones the restored service needs)."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.attachments.service import register_owner
from app.cli import main
from app.core.config import get_settings
from app.runtime import build_runtime
from tests.attachments.test_encryption import K1, MARKER, pdf
from tests.conftest import DEMO_PASSWORD, SECRET, _settings, blank_database


@pytest.fixture(autouse=True)
def _owner() -> None:
    @register_owner("test_case")
    def _rule(session, actor, owner_id):  # type: ignore[no-untyped-def]
        return actor.department_code in ("410000-gat", "410000-data")


@pytest.fixture
def fresh_url(rt, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with blank_database(tmp_path / "restored" / "govflow.db", "r") as url:
        yield url


def _cli(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_encrypted_files_are_backed_up_encrypted_and_restore_with_the_master_key(
        client, as_user, rt, fresh_url, monkeypatch, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clerk = as_user("gat_clerk")
    plain = clerk.post("/api/attachments", data={"owner_type": "test_case", "owner_id": "1"},
                       files={"file": ("明文.pdf", pdf(b"plain"), "application/pdf")}).json()
    rt.settings = rt.settings.model_copy(update={"crypto_suite": "sm", "encrypt_attachments": True,
                                                 "master_keys": {"k1": K1}, "master_key_id": "k1"})
    secret = clerk.post("/api/attachments", data={"owner_type": "test_case", "owner_id": "1"},
                        files={"file": ("加密.pdf", pdf(), "application/pdf")}).json()
    assert secret["encrypted"] is True
    for name, value in {"SECRET_KEY": SECRET, "ENVIRONMENT": "test", "DATABASE_URL": rt.settings.database_url,
                        "ATTACHMENTS_DIR": str(rt.settings.attachments_dir),
                        "AUDIT_HEAD_EXPORT_PATH": str(tmp_path / "head.jsonl")}.items():
        monkeypatch.setenv(f"GOVFLOW_{name}", value)
    get_settings.cache_clear()
    try:
        code, out, err = _cli(capsys, "backup", "--out", str(tmp_path / "backups"))
        assert code == 0, err
        archive = Path(out.strip())
        with tarfile.open(archive) as tar:
            manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
            members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()  # type: ignore[union-attr]
                       if m.name.startswith("attachments/")}
        assert manifest["encryption"] == {"encrypted_attachments": 1, "master_key_ids": ["k1"]}
        assert manifest["attachments"]["count"] == 2 and len(members) == 2
        assert not any(MARKER in data for data in members.values())  # the archive holds no plaintext of it
        restored_files = tmp_path / "restored-attachments"
        code, out, err = _cli(capsys, "restore", str(archive), "--database-url", fresh_url,
                              "--attachments-dir", str(restored_files),
                              "--audit-head-file", str(tmp_path / "restored-head.jsonl"))
        assert code == 0, err
        assert "加密保存的附件 1 个" in out and "须配置主密钥 k1" in out
    finally:
        get_settings.cache_clear()

    base = _settings(fresh_url).model_copy(update={"attachments_dir": restored_files,
                                                   "audit_head_export_path": tmp_path / "restored-head.jsonl"})
    for settings, expected in ((base, 409), (base.model_copy(update={"master_keys": {"k1": K1},
                                                                      "master_key_id": "k1"}), 200)):
        restored = build_runtime(settings)
        try:
            from app.main import create_app

            with TestClient(create_app(restored.settings, runtime=restored)) as c:
                r = c.post("/api/auth/token", data={"username": "gat_clerk", "password": DEMO_PASSWORD})
                c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
                got = c.get(secret["url"])
                assert got.status_code == expected, got.text
                if expected == 200:
                    assert got.content == pdf()
                else:  # the restored service without the master key: a clear refusal
                    assert got.json()["detail"]["code"] == "attachment_key_unavailable"
                assert c.get(plain["url"]).content == pdf(b"plain")
        finally:
            restored.db.dispose()
