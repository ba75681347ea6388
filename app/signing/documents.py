"""Signed documents: what each kind says (its canonical content, built from the business row), their numbers
and verification codes, and signing one when it is issued, in the issuing transaction (flush, never commit).

The content is canonical JSON (UTF-8, keys sorted, no blanks) of an envelope (type, title, number, signer,
issue time) and ``record``: the decision as the business row holds it (codes, texts, dates in UTC). The
names shown beside it (departments, people, catalog entry) sit in ``names``: signed, but a department's
later renaming does not make the record differ. Verification rebuilds ``record`` from the live row.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from app.audit import service as audit
from app.core.clock import SHANGHAI
from app.core.errors import DomainError
from app.crypto import algorithms
from app.org.models import Department, User
from app.signing import keys
from app.signing.models import DOC_TYPE_ZH, ENTITY_TYPE, DocType, SignedDocument, SignedDocumentCounter

FORMAT = "govflow/signed-document/1"
# Crockford's base32: no I, L, O, U, so a code read aloud or typed from paper is not mistaken.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16  # 80 random bits
_CODE_READS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_COUNTER = SignedDocumentCounter.__table__  # type: ignore[attr-defined]
PATTERN_FIELDS = frozenset({"code", "year", "seq"})


class DocumentNumberPatternInvalid(DomainError):
    status_code = 500
    code = "document_number_pattern_invalid"
    message_zh = "文书文号格式设置（adjudication_number_pattern / share_reply_number_pattern）无效，请联系系统管理员"


# ---- canonical form, codes, numbers ------------------------------------------------------------------


def canonical(content: dict[str, Any]) -> str:
    """Return the canonical JSON text of a document's content (what is signed, byte for byte as UTF-8)."""
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def new_code() -> str:
    """Return a fresh verification code (16 characters of Crockford base32 from the OS's CSPRNG)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(raw: str) -> str | None:
    """Return a typed code as stored (capitals, no blanks or dashes, O/I/L read as 0/1), or None if it cannot be
    one."""
    code = "".join(raw.split()).replace("-", "").replace("—", "").upper().translate(_CODE_READS)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def format_code(code: str) -> str:
    """Return a code as printed: four groups of four (ABCD-EFGH-JKMN-PQRS)."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def check_pattern(pattern: str) -> None:
    """Refuse a number pattern that does not use {code}, {year} and {seq} as plain fields."""
    try:
        fields = [(name, conv, spec) for _, name, spec, conv in string.Formatter().parse(pattern) if name is not None]
    except ValueError:
        raise DocumentNumberPatternInvalid(extra={"pattern": pattern}) from None
    if {n for n, _, _ in fields} != PATTERN_FIELDS or any(conv or spec for _, conv, spec in fields):
        raise DocumentNumberPatternInvalid(extra={"pattern": pattern})


def _insert(session: Session) -> Any:
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(_COUNTER)


def allocate_number(session: Session, *, pattern: str, department: Department, doc_type: DocType,
                    at: datetime) -> str:
    """Take the next number of a department's documents of one kind in the year of `at` (Asia/Shanghai),
    from its counter row locked until commit (as rectification notices number theirs)."""
    check_pattern(pattern)
    year = at.astimezone(SHANGHAI).year
    key = {"department_id": department.id, "doc_type": doc_type.value, "year": year}
    session.execute(_insert(session).values(**key, last_seq=0).on_conflict_do_nothing(index_elements=list(key)))
    where = [_COUNTER.c.department_id == department.id, _COUNTER.c.doc_type == doc_type.value,
             _COUNTER.c.year == year]
    last = session.execute(select(_COUNTER.c.last_seq).where(*where).with_for_update()).scalar_one()
    seq = int(last) + 1
    session.execute(update(_COUNTER).where(*where).values(last_seq=seq))
    return pattern.format(code=department.code, year=year, seq=seq)


# ---- what each kind of document says -----------------------------------------------------------------


def _instant(value: datetime | None) -> str | None:
    # One spelling whatever the database gives back (UTC, whole seconds): the record rebuilt later equals it.
    return value.astimezone(timezone.utc).replace(microsecond=0).isoformat() if value else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _departments(session: Session, *ids: int) -> dict[int, Department]:
    rows = session.execute(select(Department).where(Department.id.in_(set(ids)))).scalars().all()
    return {d.id: d for d in rows if d.id is not None}


def _display(session: Session, username: str | None) -> str | None:
    if not username or username == "system":
        return "系统自动答复" if username == "system" else None
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    return user.display_name if user else username


def _rectification(session: Session, entity_id: int) -> tuple[dict[str, Any], dict[str, Any], int, str] | None:
    from app.rectification.models import ART29_ITEMS, RectificationNotice, item_label

    n = session.get(RectificationNotice, entity_id)
    if n is None:
        return None
    depts = _departments(session, n.authority_department_id, n.department_id)
    issuer = session.get(User, n.issued_by_id)
    record = {
        "notice_id": n.id, "number": n.number,
        "authority_department": depts[n.authority_department_id].code, "department": depts[n.department_id].code,
        "article_item": n.article_item, "facts": n.facts, "requirements": n.requirements,
        "deadline_working_days": n.deadline_working_days, "issued_due_at": _instant(n.issued_due_at),
        "issued_at": _instant(n.issued_at), "issued_by": issuer.username if issuer else None,
    }
    names = {"authority_department": depts[n.authority_department_id].name,
             "department": depts[n.department_id].name,
             "article_item": f"{item_label(n.article_item)}：{ART29_ITEMS.get(n.article_item, '')}",
             "issued_by": issuer.display_name if issuer else None}
    return record, names, n.authority_department_id, n.number


def _adjudication(session: Session, entity_id: int) -> tuple[dict[str, Any], dict[str, Any], int, str] | None:
    from app.catalog.models import CatalogEntry
    from app.disputes.models import Dispute
    from app.sharing.models import ShareGrant

    d = session.get(Dispute, entity_id)
    if d is None:
        return None
    depts = _departments(session, d.requester_department_id, d.provider_department_id, d.authority_department_id)
    entry = session.get(CatalogEntry, d.entry_id)
    grant = session.get(ShareGrant, d.grant_id) if d.grant_id else None
    record = {
        "dispute_id": d.id, "share_request_id": d.share_request_id, "entry": entry.code if entry else None,
        "requester_department": depts[d.requester_department_id].code,
        "provider_department": depts[d.provider_department_id].code,
        "authority_department": depts[d.authority_department_id].code,
        "items": list(d.items or []), "resolution": d.resolution, "decision": d.outcome,
        "decided_items": list(d.outcome_items or []), "terms": d.terms, "reasons": d.reasons, "basis": d.basis,
        "grant": None if grant is None else {"items": list(grant.items or []), "method": grant.method,
                                             "valid_from": _day(grant.valid_from), "valid_to": _day(grant.valid_to)},
        "resolved_by": d.resolved_by, "resolved_at": _instant(d.resolved_at),
    }
    names = {"requester_department": depts[d.requester_department_id].name,
             "provider_department": depts[d.provider_department_id].name,
             "authority_department": depts[d.authority_department_id].name,
             "entry": entry.name if entry else None, "resolved_by": _display(session, d.resolved_by)}
    return record, names, d.authority_department_id, ""


def _share_reply(session: Session, entity_id: int) -> tuple[dict[str, Any], dict[str, Any], int, str] | None:
    from app.catalog.models import CatalogEntry
    from app.sharing.models import ShareRequest

    r = session.get(ShareRequest, entity_id)
    if r is None:
        return None
    depts = _departments(session, r.requester_department_id, r.provider_department_id)
    entry = session.get(CatalogEntry, r.entry_id)
    record = {
        "share_request_id": r.id, "entry": entry.code if entry else None,
        "requester_department": depts[r.requester_department_id].code,
        "provider_department": depts[r.provider_department_id].code,
        "items": list(r.items or []), "method": r.method, "period_from": _day(r.period_from),
        "period_to": _day(r.period_to), "status": r.status, "decision": r.decision,
        "approved_items": list(r.approved_items) if r.approved_items is not None else None, "terms": r.terms,
        "refusal_reason": r.refusal_reason, "refusal_basis": r.refusal_basis,
        "decided_by": r.decided_by, "decided_at": _instant(r.decided_at),
    }
    names = {"requester_department": depts[r.requester_department_id].name,
             "provider_department": depts[r.provider_department_id].name,
             "entry": entry.name if entry else None, "decided_by": _display(session, r.decided_by)}
    return record, names, r.provider_department_id, ""


BUILDERS = {DocType.rectification_notice: _rectification, DocType.adjudication: _adjudication,
            DocType.share_reply: _share_reply}


def record_of(session: Session, doc_type: str, entity_id: int) -> dict[str, Any] | None:
    """Return the record part of a document's content rebuilt from the live business row (None if gone)."""
    try:
        built = BUILDERS[DocType(doc_type)](session, entity_id)
    except ValueError:
        return None
    return None if built is None else built[0]


# ---- signing ------------------------------------------------------------------------------------------


def sign(session: Session, doc_type: DocType, entity_id: int, *, at: datetime, by: str) -> SignedDocument | None:
    """Sign a document being issued, if the settings say so: number it (unless its row has a number), build
    its content from the row as flushed, sign with the issuing department's key (made on its first
    signature), store it with a fresh verification code and audit it; None with signing off."""
    config = keys.config_of(session)
    if config is None or not config.enabled:
        return None
    session.flush()
    built = BUILDERS[doc_type](session, entity_id)
    assert built is not None, f"{doc_type} {entity_id} not found"
    record, names, department_id, number = built
    department = session.get(Department, department_id)
    assert department is not None
    if not number:
        pattern = (config.settings.adjudication_number_pattern if doc_type == DocType.adjudication
                   else config.settings.share_reply_number_pattern)
        number = allocate_number(session, pattern=pattern, department=department, doc_type=doc_type, at=at)
    key = keys.signing_key(session, department, config, at=at, by=by)
    content = {
        "format": FORMAT, "type": doc_type.value, "title": DOC_TYPE_ZH[doc_type], "number": number,
        "signer": {"department": department.code},
        "issued_by": by, "issued_at": _instant(at), "record": record,
        "names": {**names, "signer": department.name},
    }
    text = canonical(content)
    message = text.encode("utf-8")
    private = config.keyring().open(key.private_key_sealed, keys.purpose(department_id, key.fingerprint))
    signature = algorithms.sign(key.alg, private, key.public_key_pem, message)
    digest_alg = keys.digest_alg(key.alg)
    doc = SignedDocument(
        doc_type=doc_type.value, number=number, entity_type=ENTITY_TYPE[doc_type], entity_id=entity_id,
        content=text, digest_alg=digest_alg, digest=algorithms.digest_hex(digest_alg, message),
        signature_alg=key.alg, signature=base64.b64encode(signature).decode("ascii"),
        signing_key_id=key.id or 0, department_id=department_id, issued_by=by, issued_at=at,
        verification_code=new_code())
    session.add(doc)
    session.flush()
    audit.append(session, at=at, actor=by, action="document.signed", entity_type=ENTITY_TYPE[doc_type],
                 entity_id=entity_id, detail={"doc_type": doc_type.value, "number": number,
                                              "signature_alg": key.alg, "key_fingerprint": key.fingerprint,
                                              "digest_alg": digest_alg, "digest": doc.digest})
    return doc


def of_entity(session: Session, doc_type: DocType, entity_id: int) -> SignedDocument | None:
    """Return the signed document issued on a business row, if any."""
    return session.execute(select(SignedDocument).where(SignedDocument.doc_type == doc_type.value,
                                                        SignedDocument.entity_id == entity_id)).scalar_one_or_none()


def block(session: Session, doc_type: DocType, entity_id: int) -> dict[str, Any] | None:
    """Return what a printed document and its case page show of its signature (None if not signed)."""
    doc = of_entity(session, doc_type, entity_id)
    if doc is None:
        return None
    key = session.get(keys.SigningKey, doc.signing_key_id)
    return {"number": doc.number, "verification_code": format_code(doc.verification_code),
            "signature_alg": doc.signature_alg,
            "signature_alg_label": algorithms.LABELS_ZH.get(doc.signature_alg, doc.signature_alg),
            "key_fingerprint": key.fingerprint if key else None, "issued_at": doc.issued_at.isoformat(),
            "doc_type": doc.doc_type, "title": DOC_TYPE_ZH[DocType(doc.doc_type)], "verify_url": _verify_url(session)}


def _verify_url(session: Session) -> str:
    """Return the verification page's address as printed: the configured public address, else its path."""
    cfg = keys.config_of(session)
    base = (cfg.settings.public_base_url or "").strip().rstrip("/") if cfg is not None else ""
    return f"{base}/verify" if base.startswith(("https://", "http://")) else "/verify"
