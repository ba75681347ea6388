"""Departments' signing keys: created on a department's first signature (or by an administrator), rotated by
an administrator with the old key retired and kept, re-sealed when the master key changes (flush, never
commit: the callers' transactions decide)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from app.audit import service as audit
from app.core.config import Settings
from app.crypto import algorithms, rotation
from app.crypto.keys import Keyring
from app.org.models import Department
from app.signing.models import KeyStatus, SigningKey

# Session.info key of the signing configuration (app/runtime.py puts it on every session of the process).
SIGNING_INFO = "signing"
_KEYS = SigningKey.__table__  # type: ignore[attr-defined]
_ACTIVE = "status = 'active'"


@dataclass
class SigningConfig:
    """What signing needs from settings: whether to sign, with which algorithm, and the master keys."""

    settings: Settings
    _keyring: Keyring | None = field(default=None, repr=False)

    @property
    def enabled(self) -> bool:
        return self.settings.sign_documents

    @property
    def alg(self) -> str:
        return algorithms.suite(self.settings.crypto_suite).signature

    def keyring(self) -> Keyring:
        if self._keyring is None:
            self._keyring = self.settings.keyring()
        return self._keyring


def config_of(session: Session) -> SigningConfig | None:
    """Return the signing configuration the session carries (None: a session built without the runtime)."""
    found = session.info.get(SIGNING_INFO)
    return found if isinstance(found, SigningConfig) else None


def purpose(department_id: int, fingerprint: str) -> str:
    """Return what a sealed private key is bound to: its department and its public key."""
    return f"signing-key:{department_id}:{fingerprint}"


def digest_alg(signature_alg: str) -> str:
    """Return the digest a signature algorithm hashes with (the one recorded beside the signature)."""
    return "sm3" if signature_alg == "sm2-sm3" else "sha256"


def active_key(session: Session, department_id: int, *, lock: bool = False) -> SigningKey | None:
    """Return a department's current key."""
    stmt = select(SigningKey).where(SigningKey.department_id == department_id,
                                    SigningKey.status == KeyStatus.active.value)
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def _insert(session: Session) -> Any:
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(_KEYS)


def _new_row(department_id: int, alg: str, keyring: Keyring, at: datetime, by: str) -> dict[str, Any]:
    pair = algorithms.generate_keypair(alg)
    fingerprint = algorithms.public_key_fingerprint(pair.public_pem)
    return {"department_id": department_id, "alg": alg, "public_key_pem": pair.public_pem,
            "private_key_sealed": keyring.seal(pair.private, purpose(department_id, fingerprint)),
            "fingerprint": fingerprint, "status": KeyStatus.active.value, "created_at": at, "created_by": by}


def _add_active(session: Session, department: Department, alg: str, keyring: Keyring, at: datetime, by: str,
                reason: str, retired: SigningKey | None = None) -> SigningKey | None:
    """Insert a new active key unless the department has one (a racing transaction's); audit it if made."""
    assert department.id is not None
    row = _new_row(department.id, alg, keyring, at, by)
    # A concurrent first signature of the same department waits on the partial unique index, then does nothing.
    made = session.execute(_insert(session).values(**row).on_conflict_do_nothing(
        index_elements=["department_id"], index_where=text(_ACTIVE)).returning(_KEYS.c.id)).scalar_one_or_none()
    if made is None:
        return None
    key = session.get(SigningKey, made)
    detail: dict[str, Any] = {"alg": alg, "fingerprint": row["fingerprint"], "reason": reason}
    if retired is not None:
        detail.update(retired_fingerprint=retired.fingerprint, retired_alg=retired.alg)
    audit.append(session, at=at, actor=by, action="signing_key.rotated" if retired else "signing_key.created",
                 entity_type="department", entity_id=department.code, detail=detail)
    return key


def _retire(session: Session, key: SigningKey, at: datetime, by: str) -> None:
    session.execute(update(_KEYS).where(_KEYS.c.id == key.id, _KEYS.c.status == KeyStatus.active.value)
                    .values(status=KeyStatus.retired.value, retired_at=at, retired_by=by))
    session.expire(key)


def signing_key(session: Session, department: Department, config: SigningConfig, *, at: datetime,
                by: str) -> SigningKey:
    """Return the key a department signs with now: its active key, or a new one on its first signature, or
    when the province changed suites (the old key retired and kept, like a rotation)."""
    assert department.id is not None
    key = active_key(session, department.id)
    if key is not None and key.alg == config.alg:
        return key
    if key is not None:
        key = active_key(session, department.id, lock=True)
        if key is not None and key.alg != config.alg:
            _retire(session, key, at, by)
            _add_active(session, department, config.alg, config.keyring(), at, by, "suite_changed", retired=key)
    else:
        _add_active(session, department, config.alg, config.keyring(), at, by, "first_signature")
    found = active_key(session, department.id)
    assert found is not None
    return found


def create(session: Session, department: Department, settings: Settings, *, at: datetime, by: str
           ) -> SigningKey | None:
    """Create a department's first key (an administrator); None if it has one already."""
    config = SigningConfig(settings)
    return _add_active(session, department, config.alg, config.keyring(), at, by, "administrator")


def rotate(session: Session, department: Department, settings: Settings, *, at: datetime, by: str
           ) -> tuple[SigningKey, SigningKey] | None:
    """Retire a department's active key (kept, so what it signed still verifies) and make a new one active;
    None if the department has no key."""
    assert department.id is not None
    old = active_key(session, department.id, lock=True)
    if old is None:
        return None
    config = SigningConfig(settings)
    _retire(session, old, at, by)
    new = _add_active(session, department, config.alg, config.keyring(), at, by, "rotation", retired=old)
    assert new is not None
    session.refresh(old)
    return old, new


def all_keys(session: Session) -> list[tuple[SigningKey, Department]]:
    """List every key with its department: by department, the active one first, then newest first."""
    rows = session.execute(
        select(SigningKey, Department).join(Department, Department.id == SigningKey.department_id)
        .order_by(Department.region_code, Department.code, SigningKey.status, SigningKey.id.desc())).all()
    return [(k, d) for k, d in rows]


@rotation.register("signing_keys", label_zh="签名私钥")
def reseal_signing_keys(session: Session, keyring: Keyring) -> int:
    """Re-seal every private signing key not sealed under the keyring's current master key and cipher; return
    how many were. Public keys, signatures and documents are not touched. Flushes; the caller commits (and
    writes the audit event of the whole rotation)."""
    count = 0
    for key in session.execute(select(SigningKey).order_by(SigningKey.id)).scalars():
        if keyring.needs_rotation(key.private_key_sealed):
            key.private_key_sealed = keyring.reseal(key.private_key_sealed,
                                                    purpose(key.department_id, key.fingerprint))
            session.add(key)
            count += 1
    session.flush()
    return count


def key_public(key: SigningKey, department: Department | None = None) -> dict[str, Any]:
    """Return a key as the administrator's list and the API show it (never the private key)."""
    from app.signing.models import KEY_STATUS_ZH

    data: dict[str, Any] = {
        "id": key.id, "alg": key.alg, "alg_label": algorithms.LABELS_ZH.get(key.alg, key.alg),
        "fingerprint": key.fingerprint, "status": key.status, "status_label": KEY_STATUS_ZH[KeyStatus(key.status)],
        "public_key_pem": key.public_key_pem, "created_at": key.created_at.isoformat(), "created_by": key.created_by,
        "retired_at": key.retired_at.isoformat() if key.retired_at else None, "retired_by": key.retired_by,
    }
    if department is not None:
        data.update(department_code=department.code, department_name=department.name)
    return data
