"""Catalog: entries and level catalogs, versions and their review, update duties, spreadsheets."""

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.catalog import checks, flows, service, spreadsheet, updates, versions, views
from app.catalog.models import ShareType, VersionStatus
from app.core.clock import SHANGHAI, clock
from app.core.history_page import check_limit
from app.deps import CurrentUser, RuntimeDep, SessionDep
from app.org.models import Department, Level
from app.org.service import get_department_by_code

router = APIRouter(prefix="/catalog", tags=["catalog"])


# ---- entries and level catalogs -----------------------------------------------------------------


@router.post("/entries", status_code=201)
def create_entry(body: flows.CatalogEntryCreate, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Record a data resource of the clerk's department directly (seed/administration path; Art. 15 checked)."""
    entry = flows.create_entry(session, actor, body)
    dept = get_department_by_code(session=session, code=actor.department_code)
    assert dept is not None
    return flows.entry_public(entry, dept)


def _filters(department_code: str | None, share_type: ShareType | None, level: Level | None,
             region_code: str | None, category: str | None, q: str | None) -> dict[str, Any]:
    return {"department_code": department_code or None, "share_type": share_type.value if share_type else None,
            "level": level.value if level else None, "region_code": region_code or None,
            "category": category or None, "q": q or None}


@router.get("/entries")
def list_entries(response: Response, session: SessionDep, actor: CurrentUser, department_code: str | None = None,
                 share_type: ShareType | None = None, level: Level | None = None, region_code: str | None = None,
                 category: str | None = None, q: str | None = Query(None, max_length=100),
                 page: int | None = Query(None, ge=1), page_size: int = Query(50, ge=1, le=service.MAX_PAGE_SIZE),
                 limit: int = Query(200, ge=1, le=service.MAX_PAGE_SIZE), offset: int = Query(0, ge=0)
                 ) -> list[dict[str, Any]]:
    """List published entries: a level catalog (level, region and below), a department's, by category or share type.

    With `page` (1-based) the list is paged by `page_size`; the total is in header X-Total-Count.
    """
    filters = _filters(department_code, share_type, level, region_code, category, q)
    if page is not None:
        limit, offset = page_size, (page - 1) * page_size
    rows = service.get_all(session=session, limit=limit, offset=offset, **filters)
    response.headers["X-Total-Count"] = str(service.count_all(session=session, **filters))
    return [flows.entry_public(e, d) for e, d in rows]


@router.get("/levels")
def level_summary(session: SessionDep, actor: CurrentUser) -> list[dict[str, Any]]:
    """Count published entries and departments per level and region (the province's overview)."""
    return service.level_summary(session=session)


@router.get("/export")
def export_catalog(session: SessionDep, actor: CurrentUser, format: Literal["xlsx", "csv"] = "xlsx",
                   department_code: str | None = None, share_type: ShareType | None = None,
                   level: Level | None = None, region_code: str | None = None, category: str | None = None
                   ) -> Response:
    """Export published entries (same filters as the list) as XLSX or CSV, one row per data item."""
    filters = _filters(department_code, share_type, level, region_code, category, None)
    rows = service.get_all(session=session, limit=100000, **filters)
    entries = [flows.entry_data(e) for e, _ in rows]
    departments = {e.code: (d.name, d.code) for e, d in rows}
    name = "catalog-" + (department_code or region_code or (level.value if level else "all"))
    return _file(spreadsheet.entry_rows(entries, departments), format, name)


@router.get("/template")
def template(actor: CurrentUser, format: Literal["xlsx", "csv"] = "xlsx") -> Response:
    """Download the import template (Chinese headers, example rows, instructions sheet)."""
    return _file(spreadsheet.template_rows(), format, "catalog-template", spreadsheet.COLUMNS)


def _file(rows: list[dict[str, Any]], format: str, name: str,
          columns: tuple[tuple[str, str], ...] = spreadsheet.EXPORT_COLUMNS) -> Response:
    if format == "csv":
        body, media = spreadsheet.to_csv(rows, columns), "text/csv; charset=utf-8"
    else:
        body, media = spreadsheet.to_xlsx(rows, columns), spreadsheet.XLSX_MIME
    filename = f"{name}.{format}"
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


@router.get("/entries/{entry_code:path}")
def get_entry(entry_code: str, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Return one entry by its code."""
    entry = service.require_by_code(session=session, code=entry_code)
    dept = session.get(Department, entry.department_id)
    assert dept is not None
    return flows.entry_public(entry, dept)


# ---- versions -----------------------------------------------------------------------------------


def _today() -> Any:
    return clock.now().astimezone(SHANGHAI).date()


def _version(session: SessionDep, actor: CurrentUser, version_id: int) -> dict[str, Any]:
    version, dept = service.require_visible_version(session=session, version_id=version_id, actor=actor)
    return views.version_public(session, version, dept, actor=actor, today=_today())


class VersionCreate(BaseModel):
    note: str | None = Field(default=None, max_length=1000)


@router.post("/versions", status_code=201)
def create_version(session: SessionDep, actor: CurrentUser, body: VersionCreate | None = None) -> dict[str, Any]:
    """Draft a new version of my department's catalog, starting as a copy of the published one."""
    version = versions.create_draft(session, actor, body.note if body else None)
    return _version(session, actor, version.id or 0)


@router.get("/versions")
def list_versions(session: SessionDep, actor: CurrentUser, department_code: str | None = None,
                  status: VersionStatus | None = None, instance_id: int | None = None,
                  limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0)) -> list[dict[str, Any]]:
    """List the versions I may read: my department's; an authority's region's; all for an administrator."""
    rows = service.list_versions(session=session, actor=actor, department_code=department_code,
                                 status=status.value if status else None, instance_id=instance_id,
                                 limit=limit, offset=offset)
    return views.versions_public(session, rows)


@router.get("/versions/compare")
def compare_versions(session: SessionDep, actor: CurrentUser, from_version_id: int,
                     to_version_id: int) -> dict[str, Any]:
    """Compare two versions: entries added, changed field by field, withdrawn."""
    before, before_dept = service.require_visible_version(session=session, version_id=from_version_id, actor=actor)
    after, after_dept = service.require_visible_version(session=session, version_id=to_version_id, actor=actor)
    return {"from": views.version_public(session, before, before_dept, with_entries=False),
            "to": views.version_public(session, after, after_dept, with_entries=False),
            **versions.compare_versions(session, before, after)}


@router.get("/versions/{version_id}")
def get_version(version_id: int, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Return a version with its entries, decisions, review aids and what I may do with it."""
    return _version(session, actor, version_id)


@router.get("/versions/{version_id}/changes")
def version_changes(version_id: int, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Compare a version with the published catalog it started from."""
    version, _ = service.require_visible_version(session=session, version_id=version_id, actor=actor)
    return versions.changes_of(session, version)


@router.get("/versions/{version_id}/review-aids")
def review_aids(version_id: int, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Return the checks for each added, changed or withdrawn entry: Art. 15, 非涉密, possible duplicates."""
    version, _ = service.require_visible_version(session=session, version_id=version_id, actor=actor)
    rows = service.version_entries(session=session, version_id=version.id or 0)
    return checks.review_aids(session, version, rows, _today())


@router.get("/versions/{version_id}/history")
def version_history(version_id: int, session: SessionDep, actor: CurrentUser, cursor: str | None = None,
                    limit: int | None = None) -> dict[str, Any]:
    """Return lines of the version's trail (drafting, submissions, decisions, publication), oldest first: the
    latest ones, or those before `cursor` (`next_cursor` of the previous answer); `next_cursor` is null at
    the first line."""
    version, _ = service.require_visible_version(session=session, version_id=version_id, actor=actor)
    items, next_cursor = views.version_history(session, version, cursor, check_limit(limit))
    return {"items": items, "next_cursor": next_cursor}


@router.get("/versions/{version_id}/export")
def export_version(version_id: int, session: SessionDep, actor: CurrentUser,
                   format: Literal["xlsx", "csv"] = "xlsx") -> Response:
    """Export a version (a published one's snapshot, else its drafted entries) as XLSX or CSV."""
    version, dept = service.require_visible_version(session=session, version_id=version_id, actor=actor)
    entries = versions.snapshot_of(session, version)
    rows = spreadsheet.entry_rows(entries, {e["code"]: (dept.name, dept.code) for e in entries})
    return _file(rows, format, f"catalog-{dept.code}-v{version.number}")


@router.post("/versions/{version_id}/entries", status_code=201)
def add_entry(version_id: int, body: flows.CatalogEntryCreate, session: SessionDep,
              actor: CurrentUser) -> dict[str, Any]:
    """Add a new entry to a draft or returned version."""
    row = versions.add_entry(session, actor, version_id, body)
    return views.row_public(row)


@router.put("/versions/{version_id}/entries/{entry_code:path}")
def update_entry(version_id: int, entry_code: str, body: flows.CatalogEntryCreate, session: SessionDep,
                 actor: CurrentUser) -> dict[str, Any]:
    """Change an entry of a draft or returned version (full core metadata and items)."""
    return views.row_public(versions.update_entry(session, actor, version_id, entry_code, body))


@router.post("/versions/{version_id}/entries/{entry_code:path}/withdraw")
def withdraw_entry(version_id: int, entry_code: str, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Withdraw a published entry in this version."""
    return views.row_public(versions.withdraw_entry(session, actor, version_id, entry_code))


@router.post("/versions/{version_id}/entries/{entry_code:path}/restore")
def restore_entry(version_id: int, entry_code: str, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Undo the change or withdrawal of an entry in this version."""
    return views.row_public(versions.restore_entry(session, actor, version_id, entry_code))


@router.delete("/versions/{version_id}/entries/{entry_code:path}", status_code=204)
def remove_entry(version_id: int, entry_code: str, session: SessionDep, actor: CurrentUser) -> Response:
    """Delete an entry added in this version."""
    versions.remove_entry(session, actor, version_id, entry_code)
    return Response(status_code=204)


class SubmitBody(BaseModel):
    note: str | None = Field(default=None, max_length=1000)


@router.post("/versions/{version_id}/submit")
def submit_version(version_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser,
                   body: SubmitBody | None = None) -> dict[str, Any]:
    """Submit a draft to the data authority of my level, or resubmit a returned version."""
    versions.submit(session, rt.runner, actor, version_id, body.note if body else None)
    return _version(session, actor, version_id)


class DiscardBody(BaseModel):
    reason: str = Field(default="", max_length=500)


@router.post("/versions/{version_id}/discard")
def discard_version(version_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser,
                    body: DiscardBody | None = None) -> dict[str, Any]:
    """Discard a draft or a returned version; the published catalog stays as it is."""
    versions.discard(session, rt.runner, actor, version_id, body.reason if body else "")
    return _version(session, actor, version_id)


class Decision(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    decision: Literal["approve", "return"]
    comment: str | None = Field(default=None, max_length=1000)


class ReviewBody(BaseModel):
    decisions: list[Decision] = Field(max_length=5000)
    comment: str | None = Field(default=None, max_length=2000)


@router.post("/versions/{version_id}/review")
def review_version(version_id: int, body: ReviewBody, session: SessionDep, rt: RuntimeDep,
                   actor: CurrentUser) -> dict[str, Any]:
    """Decide each added, changed or withdrawn entry: approve, or return with a comment (the authority)."""
    versions.review(session, rt.runner, actor, version_id, [d.model_dump() for d in body.decisions], body.comment)
    return _version(session, actor, version_id)


@router.post("/versions/{version_id}/import")
def import_spreadsheet(version_id: int, session: SessionDep, actor: CurrentUser,
                       file: Annotated[UploadFile, File()],
                       replace: Annotated[bool, Form()] = False) -> dict[str, Any]:
    """Import entries from an XLSX or CSV sheet into a version: all or nothing, every bad row reported.

    One row per data item (see GET /api/catalog/template); with `replace`, published entries missing
    from the sheet are withdrawn.
    """
    content = file.file.read()
    return versions.import_spreadsheet(session, actor, version_id, content, file.filename or "", replace=replace)


# ---- update duty (Art. 9) -----------------------------------------------------------------------


@router.post("/update-triggers", status_code=201)
def record_trigger(body: updates.UpdateTriggerCreate, session: SessionDep, rt: RuntimeDep,
                   actor: CurrentUser) -> dict[str, Any]:
    """Record a law revised or functions changed; each department gets a 10-working-day update task."""
    trigger, _ = updates.record_trigger(session, rt.runner, actor, body)
    rows = service.list_duties(session=session, actor=actor, trigger_id=trigger.id)
    return {**views.trigger_public(trigger), "duties": [views.duty_public(session, d, t, dept) for d, t, dept in rows]}


@router.get("/update-duties")
def list_duties(session: SessionDep, actor: CurrentUser, status: Literal["open", "fulfilled"] | None = None,
                limit: int = Query(200, ge=1, le=1000), offset: int = Query(0, ge=0)) -> list[dict[str, Any]]:
    """List the update duties I may read: my department's; an authority's region's."""
    rows = service.list_duties(session=session, actor=actor, status=status, limit=limit, offset=offset)
    return [views.duty_public(session, d, t, dept) for d, t, dept in rows]
