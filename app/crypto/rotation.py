"""Master-key rotation (``govflow rotate-keys``): every key GovFlow keeps sealed is re-sealed under the
current master key and the suite's cipher; no file, signature or document is rewritten.

Each kind of sealed key registers a re-sealer::

    @rotation.register("attachments", label_zh="附件数据密钥")
    def reseal_attachment_keys(session, keyring) -> int: ...

A re-sealer re-seals the keys of its kind that ``keyring.needs_rotation`` and returns how many it changed;
keys already under the current master key are skipped (a second run changes nothing). It may commit in
batches through ``batch_done`` (each batch with its ``crypto.keys_rotated`` audit event, so a run stopped
half-way keeps what it did and the next run goes on from there); what it leaves uncommitted is committed by
``rotate_all`` with one event for the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from app.audit import service as audit
from app.core.clock import clock
from app.crypto.keys import Keyring

Resealer = Callable[[Session, Keyring], int]
ACTION = "crypto.keys_rotated"
_COMMITTED = "crypto.rotation.committed"


@dataclass(frozen=True)
class Registered:
    name: str
    label_zh: str
    fn: Resealer


RESEALERS: dict[str, Registered] = {}


def register(name: str, *, label_zh: str | None = None) -> Callable[[Resealer], Resealer]:
    """Register the re-sealer of one kind of sealed key (a name such as "attachments" or "signing_keys")."""
    def deco(fn: Resealer) -> Resealer:
        RESEALERS[name] = Registered(name, label_zh or name, fn)
        return fn
    return deco


def _event(session: Session, keyring: Keyring, kind: str, count: int) -> None:
    audit.append(session, at=clock.now(), actor="system", action=ACTION, entity_type="master_key",
                 entity_id=keyring.current, detail={"kind": kind, "count": count, "master_key_id": keyring.current,
                                                    "cipher": keyring.cipher})


def batch_done(session: Session, keyring: Keyring, kind: str, count: int) -> None:
    """Commit a batch of re-sealed keys of a kind together with its audit event."""
    if count:
        _event(session, keyring, kind, count)
    session.commit()
    committed = session.info.setdefault(_COMMITTED, {})
    committed[kind] = committed.get(kind, 0) + count


def rotate_all(session: Session, keyring: Keyring, *, only: list[str] | None = None) -> dict[str, int]:
    """Run every registered re-sealer (or those named); return how many keys each re-sealed.

    A failure (a sealed key whose master key is not configured, or that does not open) propagates as
    KeyringError after the batches committed so far; a re-run resumes.
    """
    counts: dict[str, int] = {}
    for name, reg in RESEALERS.items():
        if only is not None and name not in only:
            continue
        session.info[_COMMITTED] = {}
        try:
            total = reg.fn(session, keyring)
        except BaseException:
            session.rollback()
            raise
        rest = total - session.info[_COMMITTED].get(name, 0)
        if rest > 0:
            _event(session, keyring, name, rest)
        session.commit()
        counts[name] = total
    session.info.pop(_COMMITTED, None)
    return counts
