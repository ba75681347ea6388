"""Compare two catalogs (lists of entries' core metadata): entries added, changed field by field, withdrawn."""

from __future__ import annotations

from typing import Any

from app.catalog.flows import ENTRY_FIELDS, FIELD_ZH
from app.catalog.models import SHARE_METHOD_ZH, SHARE_TYPE_ZH, ShareType


def show(field: str, value: Any) -> str:
    """Return a field's value as a person reads it (Chinese labels, items as a list)."""
    if value is None or value == "" or value == []:
        return "（空）"
    if field == "share_type":
        return SHARE_TYPE_ZH[ShareType(value)]
    if field == "share_methods":
        return "、".join(SHARE_METHOD_ZH.get(m, m) for m in value)
    if field == "open_to_public":
        return "是" if value else "否"
    if field == "items":
        return "；".join(item_text(i) for i in value)
    return str(value)


def item_text(item: dict[str, Any]) -> str:
    """Return one data item as text: 名称（类型，长度）说明."""
    extra = "，".join(str(x) for x in (item.get("type"), item.get("length")) if x not in (None, ""))
    note = f" {item['note']}" if item.get("note") else ""
    return f"{item['name']}（{extra}）{note}" if extra else f"{item['name']}{note}"


def _items_diff(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, Any]:
    b = {i["name"]: i for i in before}
    a = {i["name"]: i for i in after}
    return {
        "added": [n for n in a if n not in b],
        "removed": [n for n in b if n not in a],
        "changed": [{"name": n, "before": item_text(b[n]), "after": item_text(a[n])}
                    for n in a if n in b and a[n] != b[n]],
    }


def entry_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the fields that differ between two versions of one entry, with readable values."""
    changes = []
    for field in ENTRY_FIELDS:
        old, new = before.get(field), after.get(field)
        if old == new or (not old and not new):
            continue
        change: dict[str, Any] = {"field": field, "label": FIELD_ZH[field], "before": show(field, old),
                                  "after": show(field, new)}
        if field == "items":
            change["items"] = _items_diff(old or [], new or [])
        changes.append(change)
    return changes


def diff(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, Any]:
    """Compare two catalogs by entry code."""
    b = {e["code"]: e for e in before}
    a = {e["code"]: e for e in after}
    added = [{"code": c, "name": a[c]["name"]} for c in sorted(a) if c not in b]
    withdrawn = [{"code": c, "name": b[c]["name"]} for c in sorted(b) if c not in a]
    changed = []
    for code in sorted(set(a) & set(b)):
        fields = entry_changes(b[code], a[code])
        if fields:
            changed.append({"code": code, "name": a[code]["name"], "fields": fields})
    return {"added": added, "changed": changed, "withdrawn": withdrawn,
            "unchanged": len(set(a) & set(b)) - len(changed)}
