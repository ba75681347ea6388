"""Load reference regions and the demo organisation (idempotent: existing rows are kept)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from app.audit import service as audit
from app.catalog.flows import CatalogEntryCreate, check_art15
from app.catalog.models import CatalogEntry
from app.core.clock import clock
from app.core.config import ROOT
from app.core.security import hash_password
from app.org import service
from app.org.models import Department, DepartmentKind, Level, Region, User, UserRole

DATA_DIR = ROOT / "data"


def load_regions(session: Session, province_code: str, data_dir: Path = DATA_DIR) -> int:
    """Insert the province's regions from data/regions-<code>.json; return how many were added."""
    payload = json.loads((data_dir / f"regions-{province_code}.json").read_text(encoding="utf-8"))
    rows: list[Region] = [Region(code=payload["province"]["code"], name=payload["province"]["name"],
                                 level=Level.province.value)]
    for city in payload["cities"]:
        rows.append(Region(code=city["code"], name=city["name"], level=Level.city.value,
                           parent_code=payload["province"]["code"]))
        rows.extend(Region(code=c["code"], name=c["name"], level=Level.county.value, parent_code=city["code"])
                    for c in city.get("counties", []))
    existing = set(session.execute(select(Region.code)).scalars().all())
    added = [r for r in rows if r.code not in existing]
    for region in added:  # parents come first in the list, so foreign keys hold
        session.add(region)
        session.flush()
    return len(added)


def ensure_admin(session: Session, *, province_code: str, password: str) -> bool:
    """Create user `admin` in the provincial data authority if it does not exist."""
    if service.get_user_by_username(session=session, username="admin") is not None:
        return False
    dept = session.execute(
        select(Department).where(Department.region_code == province_code,
                                 Department.kind == DepartmentKind.data_authority.value).order_by(Department.id)
    ).scalars().first()
    now = clock.now()
    if dept is None:
        region = session.get(Region, province_code)
        assert region is not None, "regions must be loaded first"
        dept = Department(code=f"{province_code}-data", name=f"{region.name}政务数据主管部门",
                          kind=DepartmentKind.data_authority.value, region_code=province_code, created_at=now)
        session.add(dept)
        session.flush()
    user = User(username="admin", password_hash=hash_password(password), display_name="系统管理员",
                department_id=dept.id, created_at=now)
    session.add(user)
    session.flush()
    session.add(UserRole(user_id=user.id, role="admin"))
    audit.append(session, at=now, actor="system", action="user.bootstrapped", entity_type="user",
                 entity_id="admin", detail={"department": dept.code})
    return True


def load_demo(session: Session, province_code: str, data_dir: Path = DATA_DIR) -> dict[str, int]:
    """Insert the demo departments, users and catalog entries that are not there yet."""
    payload: dict[str, Any] = json.loads((data_dir / f"demo-{province_code}.json").read_text(encoding="utf-8"))
    now = clock.now()
    counts = {"departments": 0, "users": 0, "catalog_entries": 0}
    for d in payload["departments"]:
        if service.get_department_by_code(session=session, code=d["code"]) is None:
            session.add(Department(**d, created_at=now))
            counts["departments"] += 1
    session.flush()
    password_hash = hash_password(payload["password"])
    for u in payload["users"]:
        if service.get_user_by_username(session=session, username=u["username"]) is not None:
            continue
        dept = service.require_department(session=session, code=u["department_code"])
        user = User(username=u["username"], password_hash=password_hash, display_name=u["display_name"],
                    department_id=dept.id, created_at=now)
        session.add(user)
        session.flush()
        for role in u["roles"]:
            session.add(UserRole(user_id=user.id, role=role))
        counts["users"] += 1
    for e in payload["catalog_entries"]:
        if session.execute(select(func.count()).where(CatalogEntry.code == e["code"])).scalar_one():
            continue
        dept = service.require_department(session=session, code=e["department_code"])
        data = CatalogEntryCreate.model_validate({k: v for k, v in e.items() if k != "department_code"})
        assert not check_art15(data), f"demo entry {e['code']} breaks Art. 15"
        session.add(CatalogEntry(**data.model_dump(mode="json", exclude={"items"}),
                                 items=[i.model_dump(mode="json") for i in data.items],
                                 department_id=dept.id, status="published", created_at=now, updated_at=now))
        counts["catalog_entries"] += 1
    session.flush()
    audit.append(session, at=now, actor="system", action="demo.seeded", entity_type="system",
                 entity_id="demo", detail=counts)
    return counts
