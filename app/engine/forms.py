"""Validate, coerce and default form data against a task's camunda:formData (the parser enforces none)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from app.core.errors import InvalidInput

RESERVED_KEYS = frozenset({"typename"})  # SpiffWorkflow's serializer treats it as a type tag
MAX_TEXT = 5000


def resolve_form(fields: list[dict[str, Any]], variables: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the form as users see it: dynamic options (property options_from) filled from variables."""
    out = []
    for f in fields:
        field = dict(f)
        source = (f.get("properties") or {}).get("options_from")
        if source:
            values = variables.get(source) or []
            field["options"] = [[str(v), str(v)] for v in values] if isinstance(values, list) else []
        out.append(field)
    return out


def public_form(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the fields as the API lists them: id, label, type, required, options, multiple."""
    return [
        {
            "id": f["id"], "label": f["label"], "type": f["type"], "required": f["required"],
            "options": [{"id": o[0], "label": o[1]} for o in f.get("options") or []],
            "multiple": _multiple(f), "default": f.get("default"),
        }
        for f in fields
    ]


def validate(fields: list[dict[str, Any]], data: Any) -> dict[str, Any]:
    """Check submitted data against the form; return clean values or raise InvalidInput listing each problem."""
    if not isinstance(data, dict):
        raise InvalidInput("表单数据必须是对象", code="form_not_object")
    errors: list[dict[str, str]] = []
    known = {f["id"]: f for f in fields}
    for key in data:
        if key in RESERVED_KEYS:
            errors.append({"field": key, "message": f"字段名“{key}”为系统保留字，不能使用"})
        elif key not in known:
            errors.append({"field": key, "message": f"表单中没有字段“{key}”"})
    clean: dict[str, Any] = {}
    for fid, f in known.items():
        raw = data.get(fid)
        if _blank(raw):
            if f.get("default") not in (None, ""):
                raw = f["default"]
            elif f["required"]:
                errors.append({"field": fid, "message": f"“{f['label']}”为必填项"})
                continue
            else:
                continue
        try:
            clean[fid] = _coerce(f, raw)
        except ValueError as exc:
            errors.append({"field": fid, "message": f"“{f['label']}”{exc}"})
    if errors:
        raise InvalidInput("表单数据有误：" + "；".join(e["message"] for e in errors),
                           code="form_invalid", extra={"errors": errors})
    return clean


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, list) and not v)


def _multiple(f: dict[str, Any]) -> bool:
    return str((f.get("properties") or {}).get("multiple", "")).lower() == "true"


def _coerce(f: dict[str, Any], raw: Any) -> Any:
    typ = f["type"]
    cons = f.get("constraints") or {}
    options = [o[0] for o in f.get("options") or []]
    if typ == "json":
        # Structured answers (e.g. a decision per catalog entry): the area's task validator checks them.
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise ValueError("必须是有效的 JSON") from None
        if not isinstance(raw, (dict, list)):
            raise ValueError("必须是对象或列表")
        return raw
    if _multiple(f):
        values = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(v, str) for v in values):
            raise ValueError("必须是文本列表")
        if options and any(v not in options for v in values):
            bad = [v for v in values if v not in options]
            raise ValueError(f"包含不可选的值：{'、'.join(bad)}")
        if len(set(values)) != len(values):
            raise ValueError("包含重复的值")
        return values
    if typ == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false", "on", "1", "0"):
            return raw.lower() in ("true", "on", "1")
        raise ValueError("必须是“是”或“否”")
    if typ == "long":
        if isinstance(raw, bool):
            raise ValueError("必须是整数")
        try:
            value = int(raw)
        except (TypeError, ValueError, OverflowError):  # OverflowError: JSON Infinity or 1e400
            raise ValueError("必须是整数") from None
        if "min" in cons and value < int(cons["min"]):
            raise ValueError(f"不能小于 {cons['min']}")
        if "max" in cons and value > int(cons["max"]):
            raise ValueError(f"不能大于 {cons['max']}")
        return value
    if not isinstance(raw, str):
        raise ValueError("必须是文本")
    value = raw.strip()
    if typ == "date":
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError("必须是 YYYY-MM-DD 格式的日期") from None
    if typ == "enum":
        if value not in options:
            raise ValueError(f"必须是以下之一：{'、'.join(o[1] for o in f['options'])}")
        return value
    if options and value not in options:
        raise ValueError("不是可选的值")
    limit = int(cons.get("maxlength", MAX_TEXT))
    if len(value) > limit:
        raise ValueError(f"不能超过 {limit} 个字符")
    if "minlength" in cons and len(value) < int(cons["minlength"]):
        raise ValueError(f"不能少于 {cons['minlength']} 个字符")
    return value
