"""How open lists are shown (API and pages share this): the public view and the working view."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.audit import service as audit
from app.core.history_page import PAGE_SIZE
from app.engine.runner import may_work
from app.open_data import service
from app.open_data.models import (DECISION_ZH, OPEN_TYPE_ZH, STATUS_ZH, OpenList, OpenListItem, OpenListReview,
                                  OpenListStatus, OpenType)
from app.org.models import Department
from app.org.service import Actor


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def item_public(item: OpenListItem) -> dict[str, Any]:
    """Return an item as everyone sees it."""
    return {
        "entry_code": item.entry_code, "entry_name": item.entry_name, "data_domain": item.data_domain,
        "summary": item.summary, "data_items": list(item.data_items), "data_format": item.data_format,
        "open_type": item.open_type, "open_type_label": OPEN_TYPE_ZH[OpenType(item.open_type)],
        "open_conditions": item.open_conditions, "basis": item.basis, "update_frequency": item.update_frequency,
    }


def review_public(review: OpenListReview) -> dict[str, Any]:
    """Return a review round with its comments."""
    return {"round": review.round, "decision": review.decision,
            "decision_label": DECISION_ZH.get(review.decision, review.decision), "comment": review.comment,
            "item_comments": dict(review.item_comments or {}), "reviewer": review.reviewer,
            "decided_at": _iso(review.decided_at)}


def _departments(session: Session, *ids: int | None) -> dict[int, Department]:
    wanted = {i for i in ids if i is not None}
    return {i: d for i in wanted if (d := session.get(Department, i)) is not None}


def open_list_public(session: Session, open_list: OpenList, *, with_items: bool = True) -> dict[str, Any]:
    """Return a published list as the public sees it: no drafts, comments or internal trail."""
    assert open_list.id is not None
    depts = _departments(session, open_list.department_id, open_list.reviewer_department_id)
    dept = depts[open_list.department_id]
    reviewer = depts.get(open_list.reviewer_department_id or -1)
    data: dict[str, Any] = {
        "id": open_list.id, "department_code": dept.code, "department_name": dept.name,
        "year": open_list.year, "version": open_list.version, "status": open_list.status,
        "status_label": STATUS_ZH[OpenListStatus(open_list.status)],
        "reviewer_department_name": reviewer.name if reviewer else None,
        "published_at": _iso(open_list.published_at), "superseded_at": _iso(open_list.superseded_at),
    }
    if with_items:
        items = service.items_of(session=session, open_list_id=open_list.id)
        data["items"] = [item_public(i) for i in items]
        data["counts"] = {t.value: sum(1 for i in items if i.open_type == t.value) for t in OpenType}
    return data


def open_list_detail(session: Session, open_list: OpenList, actor: Actor | None = None, *,
                     with_history: bool = True) -> dict[str, Any]:
    """Return a list as its department and its reviewers see it: status, reviews, comments per item, trail."""
    assert open_list.id is not None
    data = open_list_public(session, open_list)
    reviews, reviews_next_cursor = service.reviews_page(session=session, open_list_id=open_list.id)
    latest = reviews[-1] if reviews else None
    for item in data["items"]:
        # The comments of the latest round sit beside the item they concern; earlier rounds stay in `reviews`.
        item["review_comment"] = (latest.item_comments or {}).get(item["entry_code"]) if latest else None
    review_task = service.open_task(session=session, open_list=open_list, task_spec="review")
    revise_task = service.open_task(session=session, open_list=open_list, task_spec="revise")
    data.update({
        "note": open_list.note, "instance_id": open_list.instance_id, "revises_id": open_list.revises_id,
        "review_rounds": open_list.review_rounds, "editable": service.editable(open_list),
        "created_at": _iso(open_list.created_at), "updated_at": _iso(open_list.updated_at),
        "submitted_at": _iso(open_list.submitted_at), "published_by": open_list.published_by,
        "reviews": [review_public(r) for r in reviews], "reviews_next_cursor": reviews_next_cursor,
        "item_names": {i["entry_code"]: i["entry_name"] for i in data["items"]},
        "review_task_id": review_task.id if review_task else None,
        "revise_task_id": revise_task.id if revise_task else None,
    })
    if actor is not None:
        data["may_edit"] = bool(data["editable"] and actor.department_id == open_list.department_id
                                and actor.has_role("clerk"))
        data["may_review"] = review_task is not None and may_work(review_task, actor)
    if with_history:
        data["history"], data["history_next_cursor"] = history_page(session, open_list)
    return data


def reviews_public(session: Session, open_list: OpenList, cursor: str | None = None, limit: int = PAGE_SIZE
                   ) -> tuple[list[dict[str, Any]], str | None]:
    """Return the latest review rounds of a list before the cursor, oldest first, and the cursor to earlier
    ones."""
    rows, next_cursor = service.reviews_page(session=session, open_list_id=open_list.id or 0, cursor=cursor,
                                             limit=limit)
    return [review_public(r) for r in rows], next_cursor


def history_page(session: Session, open_list: OpenList, cursor: str | None = None, limit: int = PAGE_SIZE
                 ) -> tuple[list[dict[str, Any]], str | None]:
    """Return the latest lines of an open list's 流转记录 before the cursor, and the cursor to earlier ones."""
    return audit.trail_page(session, open_list.instance_id, "open_list", open_list.id or 0, cursor=cursor,
                            limit=limit)
