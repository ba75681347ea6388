"""Review aids for the data authority: Art. 15, classification, possible duplicate collection (Art. 10, 29 (2)).

Duplicate rule. Item names are compared after NFKC normalisation (full-width → half-width), with
white space removed and Latin letters lower-cased. An entry of another department's published
catalog is a possible duplicate when
  - both entries have the same set of item names and at least 2 items, or
  - both have at least 3 items and the Jaccard similarity of the two sets (shared ÷ all distinct)
    is at least 0.8 (e.g. 4 of 5 names shared).
Single-item entries never match: one common name (“姓名”) says nothing about duplicate collection.
It is a warning, not a refusal: the authority judges whether the data can be obtained by sharing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from app.catalog import service
from app.catalog.flows import CatalogEntryCreate, check_art15
from app.catalog.models import SHARE_TYPE_ZH, CatalogVersion, CatalogVersionEntry, ChangeKind, ShareType
from app.org.models import Department
from app.sharing.models import ShareGrant

JACCARD_THRESHOLD = 0.8
MIN_ITEMS_FOR_SIMILARITY = 3
MIN_ITEMS_FOR_IDENTITY = 2
DUPLICATE_RULE_ZH = ("与其他部门已发布条目的信息项名称集合相同（至少 2 项），"
                     "或双方均不少于 3 项且相似度（交集÷并集）≥ 0.8 时提示可能重复采集（第十条、第二十九条第二项）")


def item_key(name: str) -> str:
    """Return the form of an item name used for matching."""
    return "".join(unicodedata.normalize("NFKC", name).split()).lower()


def item_names(data: dict[str, Any]) -> frozenset[str]:
    """Return the normalised item names of an entry's data."""
    return frozenset(item_key(str(i.get("name", ""))) for i in data.get("items") or [] if i.get("name"))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Return the Jaccard similarity of two sets of item names."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def is_possible_duplicate(a: frozenset[str], b: frozenset[str]) -> bool:
    """Tell whether two entries' items match under the documented rule."""
    if a == b:
        return len(a) >= MIN_ITEMS_FOR_IDENTITY
    return (len(a) >= MIN_ITEMS_FOR_SIMILARITY and len(b) >= MIN_ITEMS_FOR_SIMILARITY
            and similarity(a, b) >= JACCARD_THRESHOLD)


def find_duplicates(data: dict[str, Any], others: Iterable[tuple[Any, Department]]) -> list[dict[str, Any]]:
    """Return the other departments' published entries whose items match an entry's items."""
    mine = item_names(data)
    names = {item_key(str(i["name"])): str(i["name"]) for i in data.get("items") or []}
    found = []
    for entry, dept in others:
        theirs = item_names({"items": entry.items})
        if not is_possible_duplicate(mine, theirs):
            continue
        found.append({
            "code": entry.code, "name": entry.name, "department_code": dept.code, "department_name": dept.name,
            "share_type": entry.share_type, "similarity": round(similarity(mine, theirs), 2),
            "common_items": sorted(names[k] for k in mine & theirs),
            "message": f"信息项与{dept.name}已发布的“{entry.name}”（{entry.code}）"
                       f"{'完全相同' if mine == theirs else '高度相似'}，可能重复采集；"
                       "能通过共享获取的数据不得重复采集（第十条、第二十九条第二项）",
        })
    found.sort(key=lambda d: (-d["similarity"], d["code"]))
    return found


def art15(data: dict[str, Any]) -> dict[str, Any]:
    """Return the Art. 15 check of an entry: its share type, basis, conditions and any problem."""
    problems = check_art15(CatalogEntryCreate.model_validate(data))
    share_type = ShareType(data["share_type"])
    return {"ok": not problems, "problems": problems, "share_type": share_type.value,
            "share_type_label": SHARE_TYPE_ZH[share_type], "legal_basis": data.get("legal_basis"),
            "share_conditions": data.get("share_conditions")}


def classification(data: dict[str, Any]) -> dict[str, Any]:
    """Return the classification check: only 非涉密 data belongs in the catalog."""
    value = data.get("classification") or ""
    ok = value == "非涉密"
    return {"ok": ok, "value": value,
            "message": "非涉密，可编入目录" if ok else "涉密数据不得编入政务数据资源目录"}


def active_grants(session: Session, entry_ids: list[int], today: date) -> dict[int, int]:
    """Count the share grants still valid on each entry (withdrawing an entry affects them)."""
    if not entry_ids:
        return {}
    rows = session.execute(
        select(ShareGrant.entry_id, func.count()).where(ShareGrant.entry_id.in_(entry_ids),
                                                         ShareGrant.valid_to >= today)
        .group_by(ShareGrant.entry_id)
    ).all()
    return {int(r[0]): int(r[1]) for r in rows}


def review_aids(session: Session, version: CatalogVersion, rows: list[CatalogVersionEntry],
                today: date) -> dict[str, Any]:
    """Return the checks the authority sees for each added, changed or withdrawn entry of a version."""
    reviewable = [r for r in rows if r.change != ChangeKind.unchanged.value]
    others = service.published_elsewhere(session=session, department_id=version.department_id)
    grants = active_grants(session, [r.entry_id for r in reviewable
                                     if r.change == ChangeKind.withdrawn.value and r.entry_id], today)
    entries = []
    for row in reviewable:
        aid: dict[str, Any] = {"code": row.code, "name": row.data.get("name"), "change": row.change}
        if row.change == ChangeKind.withdrawn.value:
            count = grants.get(row.entry_id or 0, 0)
            aid["active_grants"] = count
            aid["warnings"] = [f"该条目仍有 {count} 项有效的共享授权，撤销后使用部门将无法继续申请"] if count else []
        else:
            aid["art15"] = art15(row.data)
            aid["classification"] = classification(row.data)
            aid["duplicates"] = find_duplicates(row.data, others)
            aid["warnings"] = ([p["message"] for p in aid["art15"]["problems"]]
                               + ([] if aid["classification"]["ok"] else [aid["classification"]["message"]])
                               + [d["message"] for d in aid["duplicates"]])
        entries.append(aid)
    return {"version_id": version.id, "duplicate_rule": DUPLICATE_RULE_ZH, "entries": entries,
            "warnings": sum(len(e["warnings"]) for e in entries)}
