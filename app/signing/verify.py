"""Public verification of a signed document by its verification code (and, optionally, its number): the
signature over the stored content, the stored content against its digest, and the record it states against
the live business row. Reads only; every reason is a sentence in Chinese with a stable code."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.core.clock import SHANGHAI
from app.core.errors import InvalidInput
from app.crypto import algorithms
from app.org.models import Department
from app.signing import documents
from app.signing.models import DOC_TYPE_ZH, KEY_STATUS_ZH, DocType, KeyStatus, SignedDocument, SigningKey

NOT_FOUND_ZH = "未找到该核验码对应的文书"
STATUS_ZH = {"valid": "有效", "invalid": "无效", "not_found": "未找到"}
# The record's fields as a reader names them (the reason a changed business row gives).
FIELD_ZH = {
    "notice_id": "通知编号", "number": "文号", "authority_department": "发文机关", "department": "被通知部门",
    "article_item": "违反情形（条款项）", "facts": "违规事实", "requirements": "整改要求",
    "deadline_working_days": "整改期限", "issued_due_at": "整改截止日期", "issued_at": "发出时间",
    "issued_by": "签发人", "dispute_id": "争议编号", "share_request_id": "共享申请编号", "entry": "目录条目",
    "requester_department": "使用部门", "provider_department": "提供部门", "items": "数据项",
    "resolution": "处理方式", "decision": "结论", "decided_items": "决定共享的数据项", "terms": "共享条件",
    "reasons": "理由", "basis": "依据", "grant": "共享授权", "resolved_by": "决定人", "resolved_at": "决定时间",
    "method": "共享方式", "period_from": "使用期限起", "period_to": "使用期限止", "status": "办理结果",
    "approved_items": "同意共享的数据项", "refusal_reason": "不予共享的理由", "refusal_basis": "不予共享的依据",
    "decided_by": "答复人", "decided_at": "答复时间",
}
DECISION_ZH = {"approve": "同意共享", "partial": "部分同意共享", "refuse": "不同意共享",
               "share": "予以共享", "not_share": "不予共享"}


def _reason(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def check_input(code: str) -> str:
    """Return a typed verification code as stored, or refuse a blank or malformed one (422)."""
    if not code.strip():
        raise InvalidInput("请输入核验码", code="verification_code_required")
    normalized = documents.normalize_code(code)
    if normalized is None:
        raise InvalidInput("核验码应为16位字母或数字（可含连字符），请对照文书重新输入", code="verification_code_invalid")
    return normalized


def not_found() -> dict[str, Any]:
    """Return the answer for a code (or a code and number) that names no document."""
    return {"status": "not_found", "valid": False, "status_label": STATUS_ZH["not_found"],
            "code": "signed_document_not_found", "message": NOT_FOUND_ZH, "reasons": [], "document": None,
            "signature": None}


def _date_zh(iso: str | None) -> str | None:
    if not iso:
        return None
    try:
        at = datetime.fromisoformat(iso).astimezone(SHANGHAI)
    except (ValueError, TypeError):
        return None
    return f"{at.year}年{at.month}月{at.day}日"


def summary(content: dict[str, Any]) -> str:
    """Return one sentence of what a document decides, from its signed content."""
    record = content.get("record") if isinstance(content.get("record"), dict) else {}
    names = content.get("names") if isinstance(content.get("names"), dict) else {}
    kind = content.get("type")
    if kind == DocType.rectification_notice:
        return (f"通知{names.get('department') or record.get('department')}就《河南省政务数据管理办法》"
                f"{names.get('article_item') or record.get('article_item')}所列情形限期整改，整改期限"
                f"{record.get('deadline_working_days')}个工作日。")
    if kind == DocType.adjudication:
        decision = DECISION_ZH.get(str(record.get("decision")), str(record.get("decision")))
        items = "、".join(record.get("decided_items") or []) if record.get("decision") == "share" else ""
        return (f"就{names.get('requester_department')}与{names.get('provider_department')}关于"
                f"“{names.get('entry')}”数据的共享争议作出评判：{decision}" + (f"（{items}）" if items else "") + "。")
    if kind == DocType.share_reply:
        decision = DECISION_ZH.get(str(record.get("decision")), "") or (
            "同意共享" if record.get("status") == "granted" else "不予共享")
        items = "、".join(record.get("approved_items") or []) if record.get("status") == "granted" else ""
        return (f"{names.get('provider_department')}答复{names.get('requester_department')}共享"
                f"“{names.get('entry')}”数据的申请：{decision}" + (f"（{items}）" if items else "") + "。")
    return ""


def _document(doc: SignedDocument, content: dict[str, Any] | None, signer: Department | None) -> dict[str, Any]:
    names = (content or {}).get("names") if isinstance((content or {}).get("names"), dict) else {}
    try:
        title = DOC_TYPE_ZH[DocType(doc.doc_type)]
    except ValueError:
        title = doc.doc_type
    return {
        "type": doc.doc_type, "type_label": title, "number": doc.number,
        "signer_department_code": signer.code if signer else None,
        "signer_department_name": (signer.name if signer else None) or names.get("signer"),
        "issued_at": doc.issued_at.isoformat(), "issued_on": _date_zh(doc.issued_at.isoformat()),
        "summary": summary(content) if content else None,
    }


def verify(session: Session, code: str, number: str | None = None) -> dict[str, Any]:
    """Verify the document a code names; a number, when given, must be that document's (else: not found)."""
    doc = session.execute(select(SignedDocument).where(SignedDocument.verification_code == code)).scalar_one_or_none()
    if doc is None or (number and "".join(number.split()) != "".join(doc.number.split())):
        return not_found()
    key = session.get(SigningKey, doc.signing_key_id)
    signer = session.get(Department, doc.department_id)
    reasons: list[dict[str, str]] = []
    message = doc.content.encode("utf-8")
    content: dict[str, Any] | None = None
    try:
        parsed = json.loads(doc.content)
        content = parsed if isinstance(parsed, dict) else None
    except ValueError:
        content = None
    digest_ok = False
    try:
        digest_ok = algorithms.digest_hex(doc.digest_alg, message) == doc.digest
    except algorithms.UnknownAlgorithm:
        pass
    try:
        signature = base64.b64decode(doc.signature, validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    signature_ok = False
    if key is None:
        reasons.append(_reason("signing_key_missing", "签名所用的密钥不存在，无法验证签名"))
    elif key.alg != doc.signature_alg:
        reasons.append(_reason("signature_alg_mismatch", "文书记录的签名算法与签名密钥的算法不一致"))
    else:
        try:
            signature_ok = algorithms.verify(key.alg, key.public_key_pem, message, signature)
        except algorithms.UnknownAlgorithm:
            signature_ok = False
    if key is not None and key.alg == doc.signature_alg and not signature_ok:
        if not digest_ok or content is None:
            reasons.append(_reason("content_altered",
                                   "存储的文书内容在签名后被改动：与签名、摘要均不相符"))
        else:
            reasons.append(_reason("signature_invalid",
                                   "签名值无效：签名被改动，或不是该部门的签名密钥所签"))
    elif signature_ok and not digest_ok:
        reasons.append(_reason("digest_mismatch", "文书摘要记录被改动，与文书内容不符"))
    if content is not None and signature_ok:
        if (content.get("number") != doc.number or content.get("type") != doc.doc_type
                or (signer is not None and (content.get("signer") or {}).get("department") != signer.code)):
            reasons.append(_reason("registration_mismatch", "文书登记信息（文号、类型或签发机关）与签名内容不一致"))
        live = documents.record_of(session, doc.doc_type, doc.entity_id)
        signed = content.get("record") if isinstance(content.get("record"), dict) else {}
        if live is None:
            reasons.append(_reason("record_missing", "签名文书对应的业务记录已不存在"))
        elif live != signed:
            changed = sorted({k for k in set(live) | set(signed) if live.get(k) != signed.get(k)},
                             key=lambda k: list(FIELD_ZH).index(k) if k in FIELD_ZH else 999)
            fields = "、".join(FIELD_ZH.get(k, k) for k in changed)
            reasons.append(_reason("record_changed", f"业务记录在签名后被改动，与签名的文书内容不一致（{fields}）"))
    valid = not reasons
    result: dict[str, Any] = {
        "status": "valid" if valid else "invalid", "valid": valid,
        "status_label": STATUS_ZH["valid" if valid else "invalid"],
        "code": "signature_valid" if valid else reasons[0]["code"],
        "message": "签名有效：文书内容自签发以来未被改动" if valid else "；".join(r["message"] for r in reasons),
        "reasons": reasons, "document": _document(doc, content, signer),
        "signature": {
            "algorithm": doc.signature_alg,
            "algorithm_label": algorithms.LABELS_ZH.get(doc.signature_alg, doc.signature_alg),
            "digest_algorithm": doc.digest_alg,
            "digest_algorithm_label": algorithms.LABELS_ZH.get(doc.digest_alg, doc.digest_alg),
            "key_fingerprint": key.fingerprint if key else None,
            "key_status": key.status if key else None,
            "key_status_label": KEY_STATUS_ZH[KeyStatus(key.status)] if key else None,
            "key_created_at": key.created_at.isoformat() if key else None,
            "key_retired_at": key.retired_at.isoformat() if key and key.retired_at else None,
        },
    }
    return result
