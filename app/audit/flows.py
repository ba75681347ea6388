"""Check the audit trail against the last exported head (`verify-audit`, GET /api/admin/audit/verify)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from app.audit.export import LatestHead, latest_head
from app.audit.service import Verification, alg_label_zh, chain_key, head, verify

# Exit codes of `python -m app.cli verify-audit`.
INTACT, BROKEN, NOT_ANCHORED = 0, 1, 2


@dataclass(frozen=True)
class AuditCheck:
    verification: Verification
    export: LatestHead
    path: Path

    @property
    def exit_code(self) -> int:
        """0: intact and matching the exported head; 1: broken; 2: recomputes, no exported head to check."""
        if not self.verification.ok:
            return BROKEN
        return INTACT if self.export.head is not None else NOT_ANCHORED

    def lines_zh(self) -> list[str]:
        """Tell the outcome to an auditor, in Chinese."""
        v, export = self.verification, self.export
        # Which algorithm hashed which events (a change of suite starts a segment): the last line.
        algorithms = [f"哈希算法：{v.segments_zh}。"] if v.segments else []
        if not v.ok:
            return [f"审计链已损坏：第 {v.first_bad_seq} 条起异常——{v.reason_zh}（{v.reason}）。",
                    f"此前的 {v.events} 条事件核对无误。", *algorithms]
        if export.head is not None:
            lines = [(f"审计链完整：{v.events} 条事件，链头为第 {v.head_seq} 条；"
                      f"与导出的链头一致（第 {export.head.seq} 条，导出于 {export.head.at}，"
                      f"{alg_label_zh(export.head.alg)} 校验，{self.path}）。")]
            if export.ignored:
                lines.append(f"导出文件中另有 {export.ignored} 行不属于本链、已损坏或签名不符，已忽略。")
            return lines + algorithms
        why = {
            "missing": f"导出文件 {self.path} 不存在（定时任务 export-audit-head 尚未运行，或路径设置有误）",
            "unreadable": f"导出文件 {self.path} 无法读取（{export.error}）",
            "none_for_chain": f"导出文件 {self.path} 中没有本审计链的有效记录"
                              f"（{export.ignored} 行属于其他链、已损坏或签名不符）",
        }[export.status]
        return [f"审计链可重算通过：{v.events} 条事件，链头为第 {v.head_seq} 条。",
                f"但未能对照导出的链头：{why}。链尾被删除或链头被回退将无法发现。", *algorithms]

    def to_public(self) -> dict[str, Any]:
        v, export = self.verification, self.export
        exported = export.head
        return {"ok": v.ok, "anchored": v.ok and exported is not None, "events": v.events,
                "first_bad_seq": v.first_bad_seq, "reason": v.reason, "head_seq": v.head_seq,
                "segments": [{"first_seq": first, "last_seq": last, "alg": alg, "label": alg_label_zh(alg)}
                             for first, last, alg in v.segments],
                "message": "".join(self.lines_zh()),
                "export": {"status": export.status, "path": str(self.path), "ignored": export.ignored,
                           "seq": exported.seq if exported else None,
                           "hash": exported.hash if exported else None,
                           "at": exported.at if exported else None,
                           "alg": exported.alg if exported else None}}


def check(session: Session, *, path: Path) -> AuditCheck:
    """Recompute the keyed chain and hold it to the latest head exported to the file at path."""
    export = latest_head(path, chain_key(session), head(session)[2])
    return AuditCheck(verify(session, anchor=export.head), export, path)
