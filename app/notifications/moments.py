"""The moments a person must know of at once, told in the transaction of the change that caused them.

Each function flushes through notify() and never commits: the caller's commit writes the state change,
its audit event and the notification together, or none of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.engine.hooks import hooks
from app.notifications.models import NotificationKind
from app.notifications.service import notify

REPLY_ZH = {"granted": "同意共享", "refused": "不予共享"}


@hooks.on_task_opened
def task_arrived(*, session: Session, task: Any, instance: Any, at: datetime) -> None:
    """Tell whoever may work a new task: its assignee, or else its department's holders of its role."""
    assignee = getattr(task, "assignee_id", None)
    if assignee is None and task.department_id is None:
        return  # nobody in particular may work it: the inbox of the role shows it
    notify(session, user_ids=[assignee] if assignee else None,
           department_id=None if assignee else task.department_id,
           role=None if assignee else task.role, kind=NotificationKind.task_arrived.value,
           title=f"新待办：{task.name}"[:200], body=(instance.subject or "")[:2000],
           link=f"/tasks/{task.id}", dedupe_key=f"task:{task.id}:arrived", at=at)


def share_request_answered(session: Session, *, share_request_id: int, applicant_id: int, entry_name: str,
                           provider_name: str, granted: bool, decision_label: str, at: datetime) -> None:
    """Tell the clerk who filed a share request that the provider answered it."""
    verdict = "同意共享" if granted else "不予共享"
    notify(session, user_ids=[applicant_id], kind=NotificationKind.share_replied.value,
           title=f"共享申请 #{share_request_id} 已答复：{decision_label or verdict}"[:200],
           body=f"{provider_name}已答复您申请共享的“{entry_name}”：{decision_label or verdict}。"[:2000],
           link=f"/share-requests/{share_request_id}",
           dedupe_key=f"share_request:{share_request_id}:answered", at=at)


def catalog_version_returned(session: Session, *, version_id: int, version_number: int, round_: int,
                             submitter_id: int, returned: list[dict[str, Any]], at: datetime) -> None:
    """Tell the clerk who submitted a catalog version that the authority returned it for revision."""
    codes = "、".join(str(r["code"]) for r in returned[:5]) + ("等" if len(returned) > 5 else "")
    notify(session, user_ids=[submitter_id], kind=NotificationKind.catalog_returned.value,
           title=f"目录第 {version_number} 版被退回修改"[:200],
           body=f"主管部门退回了 {len(returned)} 个条目（{codes}），请按退回意见修改后重新提交。"[:2000],
           link=f"/catalog/versions/{version_id}",
           dedupe_key=f"catalog_version:{version_id}:returned:{round_}", at=at)


def open_list_returned(session: Session, *, open_list_id: int, year: int, version: int, round_: int,
                       submitter_id: int, comment: str | None, at: datetime) -> None:
    """Tell the clerk who submitted an open list that the authority returned it for revision."""
    notify(session, user_ids=[submitter_id], kind=NotificationKind.open_list_returned.value,
           title=f"{year}年度开放清单（第{version}版）被退回修改"[:200],
           body=(f"审查意见：{comment}。" if comment else "") + "请按审查意见修改后重新提交。",
           link=f"/open-lists/{open_list_id}", dedupe_key=f"open_list:{open_list_id}:returned:{round_}", at=at)
