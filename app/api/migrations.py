"""Migration of running instances to a newer deployed version of their process (designers, admins)."""

from typing import Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from app.core.errors import InvalidInput
from app.deps import DesignerUser, RuntimeDep, SessionDep
from app.designer import migration

router = APIRouter(prefix="/designer/processes", tags=["designer"])

ProcessKey = Path(max_length=128)


class MigrateBody(BaseModel):
    to_version: int = Field(ge=1, le=1_000_000, description="目标版本号")
    instance_ids: list[int] | None = Field(default=None, max_length=1000, description="要迁移的实例编号")
    all: bool = Field(default=False, description="迁移全部可迁移的旧版本实例")


def _visible(rows: list[dict[str, Any]], actor: DesignerUser) -> list[dict[str, Any]]:
    # Designers see no case content: the subject names the applicant's matter.
    if "admin" in actor.roles:
        return rows
    return [{k: v for k, v in row.items() if k != "subject"} for row in rows]


@router.get("/{process_key}/migrations")
def list_migrations(session: SessionDep, rt: RuntimeDep, actor: DesignerUser,
                    process_key: str = ProcessKey,
                    to_version: int | None = Query(None, ge=1, le=1_000_000, description="目标版本号（默认最新）")
                    ) -> dict[str, Any]:
    """List the running instances of older versions and whether each can move to `to_version`."""
    to = migration.target(session, rt, process_key, to_version)
    rows = migration.candidates(session, rt, process_key, to.version)
    return {"to_version": to.version, "instances": _visible(rows, actor)}


@router.post("/{process_key}/migrations")
def migrate(body: MigrateBody, session: SessionDep, rt: RuntimeDep, actor: DesignerUser,
            process_key: str = ProcessKey) -> dict[str, Any]:
    """Migrate the selected instances (or all older running ones) to `to_version`, each on its own."""
    if body.all == (body.instance_ids is not None):
        raise InvalidInput("请选择要迁移的实例（instance_ids），或指定全部迁移（all），二者只能选一",
                           code="migration_selection_invalid")
    if body.instance_ids is not None and not body.instance_ids:
        raise InvalidInput("请至少选择一个要迁移的实例", code="migration_selection_empty")
    return migration.migrate(session, rt, actor, process_key, body.to_version,
                             None if body.all else body.instance_ids)
