"""The migration page of a process: running instances of older versions, moved to a newer one."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from app.core.i18n import N_
from app.core.errors import Forbidden, InvalidInput
from app.deps import RuntimeDep, SessionDep
from app.designer import migration
from app.engine.models import ProcessDefinition
from app.web import FormData, PageUser
from app.web.render import flash_redirect, render

router = APIRouter(include_in_schema=False)

ProcessKey = Path(max_length=128)
# The banner names this many failures; the table shows every reason.
_FAILURES_SHOWN = 5


def _designer(actor: PageUser) -> None:
    if not actor.has_role("designer", "admin"):
        raise Forbidden("只有流程设计员或系统管理员可以迁移流程实例", code="role_required")


def _url(process_key: str, to_version: int) -> str:
    return f"/designer/processes/{quote(process_key, safe='')}/migrate?to_version={to_version}"


def _int(value: Any, what: str) -> int:
    text = str(value).strip()
    if not text.isdigit() or len(text) > 9:
        raise InvalidInput(f"{what}必须是正整数", code="invalid_number")
    return int(text)


@router.get("/designer/processes/{process_key}/migrate", response_class=HTMLResponse)
def migrate_page(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                 process_key: str = ProcessKey, to_version: str = "") -> Response:
    """List the running instances of older versions with whether each can move, and why not."""
    _designer(actor)
    to = migration.target(session, rt, process_key, _int(to_version, "目标版本") if to_version else None)
    versions = session.execute(
        select(ProcessDefinition.version, ProcessDefinition.name, ProcessDefinition.deployed_at)
        .where(ProcessDefinition.process_key == process_key).order_by(ProcessDefinition.version.desc())
    ).all()
    rows = migration.candidates(session, rt, process_key, to.version)
    return render(request, "designer/migrate.html", {
        "process_key": process_key, "process_name": versions[0].name, "to_version": to.version,
        "versions": versions, "rows": rows, "show_subject": actor.has_role("admin"),
        "movable": sum(1 for r in rows if r["movable"]),
    })


@router.post("/designer/processes/{process_key}/migrate")
def migrate_submit(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser, form: FormData,
                   process_key: str = ProcessKey) -> Response:
    """Migrate the ticked instances, or all of them, and say how it went."""
    _designer(actor)
    to_version = _int(form.get("to_version", ""), "目标版本")
    if form.get("action") == "all":
        instance_ids = None
    else:
        raw = form.get("instance_id", [])
        picked = raw if isinstance(raw, list) else [raw]
        if not picked:
            raise InvalidInput("请先勾选要迁移的实例", code="migration_selection_empty")
        if len(picked) > 1000:
            raise InvalidInput("一次最多迁移 1000 个实例", code="migration_selection_too_large")
        instance_ids = [_int(v, "实例编号") for v in picked]
    result = migration.migrate(session, rt, actor, process_key, to_version, instance_ids)
    migrated, failed = result["migrated"], result["failed"]
    if failed:
        shown = "；".join(f"实例 {f['instance_id']}：{f['reason']}" for f in failed[:_FAILURES_SHOWN])
        message = (N_("已将 {count} 个实例迁移到版本 {version}；等 {failed} 个未迁移（{shown}）")
                   if len(failed) > _FAILURES_SHOWN else N_("已将 {count} 个实例迁移到版本 {version}；{failed} 个未迁移（{shown}）"))
        # The reasons come from the engine in Chinese; the frame of the sentence is translated.
        return flash_redirect(request, _url(process_key, to_version), message, count=len(migrated),
                              version=to_version, failed=len(failed), shown=shown)
    if not migrated:
        return flash_redirect(request, _url(process_key, to_version), "没有需要迁移的实例")
    return flash_redirect(request, _url(process_key, to_version), "已将 {count} 个实例迁移到版本 {version}",
                          count=len(migrated), version=to_version)
