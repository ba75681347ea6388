"""Scheduled work: export the audit chain's head where the database cannot reach (export-audit-head).

Each run first checks the events appended since the previous export (from that export's hash, keyed),
so an export never vouches for a forged tail; then appends the head as one signed line to
GOVFLOW_AUDIT_HEAD_EXPORT_PATH and posts it to GOVFLOW_AUDIT_HEAD_WEBHOOK_URL when set. Several
scheduler replicas may each export: every line is true, and readers take the highest seq.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

import httpx

from app.audit.export import append_line, head_line, latest_head
from app.audit.service import ExportedHead, chain_key, head, verify
from app.runtime import Runtime

log = logging.getLogger("govflow.audit")

TIMEOUT_SECONDS = 5.0


def export_audit_head(rt: Runtime) -> dict[str, Any]:
    """Check the chain since the last export, then export its head; return what was exported or why not."""
    path = rt.settings.audit_head_export_path
    with rt.db.session() as session:
        key = chain_key(session)
        chain = head(session)[2]
        previous = latest_head(path, key, chain)
        # No readable previous export (first run, webhook-only province): check the whole chain once.
        result = verify(session, since=previous.head)
    if not result.ok:
        log.error("audit chain broken at seq %s (%s): head not exported", result.first_bad_seq, result.reason)
        return {"exported": False, "first_bad_seq": result.first_bad_seq, "reason": result.reason,
                "message": f"审计链第 {result.first_bad_seq} 条起异常：{result.reason_zh}；链头未导出"}
    # Real time, not the service clock: this says when, in the world, the head was seen (a demo clock
    # moved forward must not date an export in the future).
    exported = ExportedHead(chain=chain, seq=result.head_seq, hash=result.head_hash,
                            keyed_from=result.keyed_from,
                            at=datetime.now(timezone.utc).isoformat(timespec="seconds"), alg=key.alg)
    line = head_line(key, exported)
    errors: dict[str, str] = {}
    try:
        append_line(path, line)
    except OSError as exc:
        errors["file"] = f"{type(exc).__name__}: {exc}"
        log.error("audit head not written to %s: %s", path, exc)
    url = rt.settings.audit_head_webhook_url
    if url:
        try:
            response = httpx.post(url, content=line.encode("utf-8"), timeout=TIMEOUT_SECONDS,
                                  headers={"Content-Type": "application/json; charset=utf-8",
                                           "User-Agent": "GovFlow-AuditHead"})
            if not 200 <= response.status_code < 300:
                errors["webhook"] = f"HTTP {response.status_code}: {response.text[:300]}"
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            errors["webhook"] = f"{type(exc).__name__}: {exc}"
        if "webhook" in errors:
            log.error("audit head not posted to the webhook: %s", errors["webhook"])
    return {"exported": not errors, "seq": exported.seq, "hash": exported.hash, "alg": exported.alg,
            "file": str(path), "webhook": bool(url), "checked_events": result.events, "errors": errors}
