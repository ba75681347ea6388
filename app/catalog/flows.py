"""Use cases of the catalog area (one commit each)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlmodel import Session

from app.audit import service as audit
from app.catalog import service
from app.catalog.models import (
    FORMATS,
    ITEM_TYPES,
    SHARE_METHODS,
    UPDATE_CYCLES,
    CatalogEntry,
    DataItem,
    ShareType,
)
from app.core.clock import clock
from app.core.errors import Conflict, Forbidden, InvalidInput
from app.org.models import Department
from app.org.service import Actor

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{1,63}$")


class CatalogEntryCreate(BaseModel):
    code: str
    name: str = Field(min_length=1, max_length=128)
    summary: str = Field(min_length=1, max_length=2000)
    category: str | None = Field(default=None, max_length=64)
    format: str
    items: list[DataItem] = Field(min_length=1, max_length=500)
    share_type: ShareType
    share_conditions: str | None = Field(default=None, max_length=2000)
    share_methods: list[str] = Field(default_factory=list)
    legal_basis: str | None = Field(default=None, max_length=1000)
    open_to_public: bool = False
    open_conditions: str | None = Field(default=None, max_length=2000)
    update_cycle: str
    classification: str = "非涉密"

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not CODE_RE.match(v):
            raise ValueError("目录代码只能由字母、数字和 - _ . / 组成，长度 2–64")
        return v

    @field_validator("format")
    @classmethod
    def _format(cls, v: str) -> str:
        if v not in FORMATS:
            raise ValueError(f"格式必须是以下之一：{'、'.join(FORMATS)}")
        return v

    @field_validator("update_cycle")
    @classmethod
    def _cycle(cls, v: str) -> str:
        if v not in UPDATE_CYCLES:
            raise ValueError(f"更新周期必须是以下之一：{'、'.join(UPDATE_CYCLES)}")
        return v

    @field_validator("share_methods")
    @classmethod
    def _methods(cls, v: list[str]) -> list[str]:
        bad = [m for m in v if m not in SHARE_METHODS]
        if bad:
            raise ValueError(f"共享方式必须是 api、table、file 之一，不能是：{'、'.join(bad)}")
        return sorted(set(v), key=SHARE_METHODS.index)

    @field_validator("classification")
    @classmethod
    def _classification(cls, v: str) -> str:
        # Only non-classified data belongs in the government data catalog.
        if v != "非涉密":
            raise ValueError("涉密数据不得编入政务数据资源目录，涉密属性只能为“非涉密”")
        return v

    @model_validator(mode="after")
    def _items_unique(self) -> CatalogEntryCreate:
        names = [i.name for i in self.items]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"信息项名称重复：{'、'.join(dupes)}")
        for item in self.items:
            if item.type not in ITEM_TYPES:
                raise ValueError(f"信息项“{item.name}”的类型必须是以下之一：{'、'.join(ITEM_TYPES)}")
        return self


def check_art15(data: CatalogEntryCreate) -> list[dict[str, str]]:
    """Return the Art. 15 problems of an entry: basis for conditional/not-shared, conditions for conditional."""
    problems: list[dict[str, str]] = []
    basis = (data.legal_basis or "").strip()
    if data.share_type in (ShareType.conditional, ShareType.not_shared) and not basis:
        kind = "有条件共享" if data.share_type == ShareType.conditional else "不予共享"
        problems.append({"field": "legal_basis", "code": "legal_basis_required",
                         "message": f"列为{kind}的数据必须注明法律、行政法规或国家有关规定依据；"
                                    "没有依据的，应列为无条件共享（第十五条）"})
    if data.share_type == ShareType.conditional and not (data.share_conditions or "").strip():
        problems.append({"field": "share_conditions", "code": "share_conditions_required",
                         "message": "有条件共享的数据必须写明共享条件（第十五条）"})
    return problems


def create_entry(session: Session, actor: Actor, data: CatalogEntryCreate) -> CatalogEntry:
    """Record a data resource of the clerk's own department, enforcing Art. 15."""
    if not actor.has_role("clerk", "admin"):
        raise Forbidden("只有本部门经办人可以登记目录条目", code="clerk_required")
    problems = check_art15(data)
    if problems:
        raise InvalidInput("；".join(p["message"] for p in problems), code=problems[0]["code"],
                           extra={"errors": problems})
    if service.code_reserved(session=session, code=data.code) is not None:
        raise Conflict(f"目录代码“{data.code}”已被使用", code="entry_code_taken")
    now = clock.now()
    fields: dict[str, Any] = data.model_dump(mode="json", exclude={"items"})
    entry = CatalogEntry(**fields, items=[i.model_dump(mode="json") for i in data.items],
                         department_id=actor.department_id, created_by_id=actor.id,
                         status="published", created_at=now, updated_at=now)
    session.add(entry)
    session.flush()
    audit.append(session, at=now, actor=actor.username, action="catalog_entry.created",
                 entity_type="catalog_entry", entity_id=entry.code,
                 detail={"department": actor.department_code, "share_type": entry.share_type,
                         "items": [i["name"] for i in entry.items]})
    session.commit()
    return entry


FIELD_ZH = {
    "code": "目录代码", "name": "资源名称", "summary": "资源摘要", "category": "资源分类", "format": "资源格式",
    "items": "信息项", "share_type": "共享类型", "share_conditions": "共享条件", "share_methods": "共享方式",
    "legal_basis": "共享依据", "open_to_public": "是否向社会开放", "open_conditions": "开放条件",
    "update_cycle": "更新周期", "classification": "涉密属性",
}
ENTRY_FIELDS = tuple(CatalogEntryCreate.model_fields)


def entry_data(entry: CatalogEntry) -> dict[str, Any]:
    """Return a published entry's core metadata in the shape drafts store (CatalogEntryCreate as JSON)."""
    return normalize_data({f: getattr(entry, f) for f in ENTRY_FIELDS})


def normalize_data(data: dict[str, Any]) -> dict[str, Any]:
    """Return core metadata in canonical form, so that equal entries compare equal."""
    return CatalogEntryCreate.model_validate(data).model_dump(mode="json")


def entry_public(entry: CatalogEntry, department: Department) -> dict[str, Any]:
    """Return an entry as the API shows it."""
    data = entry.model_dump(mode="json", exclude={"created_by_id"})
    data["department_code"] = department.code
    data["department_name"] = department.name
    return data
