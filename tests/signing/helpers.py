"""Small factories for the signature tests: a runtime with signing on, and the verification calls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from app.runtime import Runtime, build_runtime
from tests.conftest import ManualSeconds, _settings

# What the scenario turns on: China's commercial cryptography, decisions signed when issued.
SM_SIGNING = {"crypto_suite": "sm", "sign_documents": True}
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


def runtime(db_url: str, tmp_path: Path, **settings: Any) -> Runtime:
    """Build the test runtime (as tests/conftest.py's `rt`) with the given settings on top."""
    rt = build_runtime(_settings(db_url).model_copy(update={
        "attachments_dir": tmp_path / "attachments", "audit_head_export_path": tmp_path / "audit-head.jsonl",
        "usage_archive_dir": tmp_path / "usage-archive", **settings}))
    rt.actors.seconds = rt.calendar.seconds = ManualSeconds()
    return rt


def check(client: TestClient, code: str, number: str | None = None, expect: int = 200) -> dict[str, Any]:
    """GET /api/verify and check the status code."""
    params = {"code": code, **({"number": number} if number is not None else {})}
    r = client.get("/api/verify", params=params)
    assert r.status_code == expect, r.text
    return r.json()  # type: ignore[no-any-return]


@contextmanager
def tampered(rt: Runtime, table: str, column: str, row_id: int, value: Any) -> Iterator[None]:
    """Set one column of one row by SQL (as someone with database access would), then put it back."""
    with rt.db.session() as s:
        before = s.execute(text(f"SELECT {column} FROM {table} WHERE id = :id"), {"id": row_id}).scalar_one()
        s.execute(text(f"UPDATE {table} SET {column} = :v WHERE id = :id"), {"v": value, "id": row_id})
        s.commit()
    try:
        yield
    finally:
        with rt.db.session() as s:
            s.execute(text(f"UPDATE {table} SET {column} = :v WHERE id = :id"), {"v": before, "id": row_id})
            s.commit()


def stored(rt: Runtime, code: str) -> dict[str, Any]:
    """Return the signed_document row of a printed code, with its signing key's public key."""
    with rt.db.session() as s:
        row = s.execute(text(
            "SELECT d.id, d.content, d.signature, d.number, d.doc_type, k.public_key_pem, k.fingerprint "
            "FROM signed_document d JOIN signing_key k ON k.id = d.signing_key_id "
            "WHERE d.verification_code = :c"), {"c": code.replace("-", "")}).mappings().one()
        return dict(row)
