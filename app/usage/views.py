"""How the usage log reads on the API and the pages: events, flags, grants, the monthly chart and exports."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.core.cells import safe_cell
from app.core.clock import SHANGHAI
from app.org.models import Department
from app.sharing.models import STATUS_ZH, ShareGrant, ShareRequestStatus
from app.usage.models import FLAG_ZH, METHOD_ZH, SCOPE_ZH, Flag, Scope, SystemClient, UsageEvent, UsageFlag

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("occurred_at", "使用时间"), ("grant_id", "共享授权编号"), ("provider", "提供部门"), ("consumer", "使用部门"),
    ("items", "数据项"), ("rows", "条数"), ("calls", "调用次数"), ("method", "共享方式"),
    ("requesting_system", "请求系统"), ("requesting_user", "请求用户"), ("system", "报送系统"),
    ("event_id", "事件编号"), ("flags", "异常"),
)


def local(at: datetime | None) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") if at else ""


def flag_labels(flags: str | list[str] | None) -> list[str]:
    codes = flags.split(",") if isinstance(flags, str) else list(flags or [])
    return [FLAG_ZH.get(Flag(c), c) if c in Flag.__members__ else c for c in codes if c]


def event_public(e: UsageEvent) -> dict[str, Any]:
    return {"event_id": e.event_id, "system_client_id": e.system_client_id, "grant_id": e.grant_id,
            "occurred_at": e.occurred_at.isoformat(), "occurred_at_local": local(e.occurred_at),
            "provider_department_id": e.provider_department_id,
            "consumer_department_id": e.consumer_department_id, "items": e.items, "rows": e.row_count,
            "calls": e.call_count, "method": e.method, "method_label": METHOD_ZH.get(e.method, e.method),
            "requesting_system": e.requesting_system, "requesting_user": e.requesting_user,
            "flags": e.flags.split(",") if e.flags else [], "flag_labels": flag_labels(e.flags),
            "received_at": e.received_at.isoformat()}


def flag_public(f: UsageFlag) -> dict[str, Any]:
    return {"id": f.id, "grant_id": f.grant_id, "day": f.day.isoformat(), "reasons": f.reasons,
            "reason_labels": flag_labels(f.reasons), "events": f.events, "first_event_id": f.first_event_id,
            "first_occurred_at": f.first_occurred_at.isoformat(),
            "provider_department_id": f.provider_department_id, "consumer_department_id": f.consumer_department_id,
            "rectification_notice_id": f.rectification_notice_id}


def grant_public(g: ShareGrant, status: str, departments: dict[int, Department]) -> dict[str, Any]:
    provider, consumer = departments.get(g.provider_department_id), departments.get(g.consumer_department_id)
    return {"id": g.id, "share_request_id": g.share_request_id, "items": g.items, "method": g.method,
            "method_label": METHOD_ZH.get(g.method, g.method), "valid_from": g.valid_from.isoformat(),
            "valid_to": g.valid_to.isoformat(), "request_status": status,
            "request_status_label": STATUS_ZH.get(ShareRequestStatus(status), status) if status in
            ShareRequestStatus.__members__ else status,
            "provider": {"id": g.provider_department_id, "name": provider.name if provider else ""},
            "consumer": {"id": g.consumer_department_id, "name": consumer.name if consumer else ""}}


def client_public(c: SystemClient, departments: dict[int, Department]) -> dict[str, Any]:
    dept = departments.get(c.department_id)
    return {"id": c.id, "code": c.code, "name": c.name, "department_id": c.department_id,
            "department_code": dept.code if dept else "", "department_name": dept.name if dept else "",
            "scopes": c.scopes, "scope_labels": [SCOPE_ZH.get(Scope(s), s) if s in {x.value for x in Scope} else s
                                                 for s in c.scopes],
            "topics": list(c.topics or []),
            "is_active": c.is_active, "created_by": c.created_by, "created_at": c.created_at.isoformat(),
            "rotated_at": c.rotated_at.isoformat() if c.rotated_at else None,
            "deactivated_at": c.deactivated_at.isoformat() if c.deactivated_at else None,
            "last_used_at": c.last_used_at.isoformat() if c.last_used_at else None,
            "last_used_local": local(c.last_used_at)[:16]}


# --- the chart: bars per month, drawn as SVG on the server (no script, no CDN) -----------------------------

CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_BOTTOM, CHART_TOP = 720, 240, 56, 36, 16


def _nice_max(value: int) -> int:
    """Return the top of the axis: four equal whole steps of 1, 2 or 5 times a power of ten."""
    step = 1
    while step * 4 < value:
        for m in (2, 5 / 2, 2):  # 1 → 2 → 5 → 10 → 20 → 50 ...
            step = int(step * m)
            if step * 4 >= value:
                break
    return step * 4


def chart(series: list[dict[str, Any]], measure: str = "events") -> dict[str, Any]:
    """Return the geometry of a bar chart of a monthly series: one bar per month (flagged part in red)."""
    top = _nice_max(max((m[measure] for m in series), default=0))
    plot_w = CHART_WIDTH - CHART_LEFT - 8
    plot_h = CHART_HEIGHT - CHART_BOTTOM - CHART_TOP
    slot = plot_w / max(1, len(series))
    bars = []
    for i, m in enumerate(series):
        h = plot_h * m[measure] / top
        fh = plot_h * min(m["flagged"], m["events"]) / top if measure == "events" else 0
        x = CHART_LEFT + i * slot + slot * 0.15
        bars.append({"x": round(x, 1), "w": round(slot * 0.7, 1), "y": round(CHART_TOP + plot_h - h, 1),
                     "h": round(h, 1), "fy": round(CHART_TOP + plot_h - fh, 1), "fh": round(fh, 1),
                     "label": m["month"][2:].replace("-", "/"), "value": m[measure], "flagged": m["flagged"],
                     "lx": round(x + slot * 0.35, 1)})
    ticks = [{"y": round(CHART_TOP + plot_h - plot_h * k / 4, 1), "value": int(top * k / 4)} for k in range(5)]
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "left": CHART_LEFT, "bars": bars, "ticks": ticks,
            "base": CHART_TOP + plot_h, "label_y": CHART_HEIGHT - CHART_BOTTOM + 16,
            "total": sum(m[measure] for m in series), "flagged": sum(m["flagged"] for m in series)}


# --- exports ------------------------------------------------------------------------------------------

def export_rows(session: Session, events: Any) -> list[dict[str, Any]]:
    departments: dict[int, Department] = {}
    clients: dict[int, SystemClient] = {}
    rows = []
    for e in events:
        for dept_id in (e.provider_department_id, e.consumer_department_id):
            if dept_id not in departments:
                found = session.get(Department, dept_id)
                if found is not None:
                    departments[dept_id] = found
        if e.system_client_id not in clients:
            found_client = session.get(SystemClient, e.system_client_id)
            if found_client is not None:
                clients[e.system_client_id] = found_client
        rows.append({"occurred_at": local(e.occurred_at), "grant_id": e.grant_id,
                     "provider": getattr(departments.get(e.provider_department_id), "name", ""),
                     "consumer": getattr(departments.get(e.consumer_department_id), "name", ""),
                     "items": "、".join(e.items), "rows": "" if e.row_count is None else e.row_count,
                     "calls": "" if e.call_count is None else e.call_count,
                     "method": METHOD_ZH.get(e.method, e.method), "requesting_system": e.requesting_system,
                     "requesting_user": e.requesting_user,
                     "system": getattr(clients.get(e.system_client_id), "name", ""), "event_id": e.event_id,
                     "flags": "、".join(flag_labels(e.flags))})
    return rows


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """Write rows as CSV, UTF-8 with BOM (Excel in Chinese reads it right)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([h for _, h in EXPORT_COLUMNS])
    for r in rows:
        writer.writerow([safe_cell(r.get(k, "")) for k, _ in EXPORT_COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict[str, Any]], title: str) -> bytes:
    """Write rows as an XLSX workbook (write-only: an export of many events stays light)."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    for i, (_, header) in enumerate(EXPORT_COLUMNS):
        sheet.column_dimensions[chr(ord("A") + i)].width = max(10, len(header) * 2 + 4)
    sheet.append([h for _, h in EXPORT_COLUMNS])
    for r in rows:
        values = []
        for k, _ in EXPORT_COLUMNS:
            v = safe_cell(r.get(k, ""))
            values.append(ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v)
        sheet.append(values)
    buf = io.BytesIO()
    workbook.save(buf)
    return buf.getvalue()


def export_file(rows: list[dict[str, Any]], fmt: str, title: str) -> tuple[bytes, str]:
    if fmt == "csv":
        return to_csv(rows), "text/csv; charset=utf-8"
    return to_xlsx(rows, title), XLSX_MIME
