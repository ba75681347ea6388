"""What the API and the pages show of external tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.core.clock import SHANGHAI
from app.external.models import STATUS_ZH, ExternalTask, ExternalTaskStatus


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def local(at: datetime | None) -> str:
    """Beijing time for the pages (YYYY-MM-DD HH:MM)."""
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if at is not None else ""


def locked_public(row: ExternalTask, variables: list[str] | None) -> dict[str, Any]:
    """A fetched task as the worker gets it (Camunda's LockedExternalTaskDto, snake_case)."""
    values = row.variables or {}
    if variables is not None:
        values = {name: values[name] for name in variables if name in values}
    return {"id": row.id, "topic": row.topic, "worker_id": row.worker_id, "lock_expiration_time": _iso(row.locked_until),
            "process_instance_id": row.instance_id, "process_key": row.process_key, "activity_id": row.element_id,
            "activity_name": row.name, "business_key": row.business_ref, "retries": row.retries,
            "error_message": row.error_message, "error_details": row.error_details, "variables": values}


def task_public(row: ExternalTask) -> dict[str, Any]:
    """A task's state (the worker's answers and the administrators' list)."""
    return {"id": row.id, "status": row.status, "status_label": STATUS_ZH[ExternalTaskStatus(row.status)],
            "topic": row.topic, "process_instance_id": row.instance_id, "process_key": row.process_key,
            "activity_id": row.element_id, "activity_name": row.name, "business_key": row.business_ref,
            "worker_id": row.worker_id, "lock_expiration_time": _iso(row.locked_until), "retries": row.retries,
            "attempts": row.attempts, "error_message": row.error_message, "error_details": row.error_details,
            "next_attempt_at": _iso(row.next_attempt_at), "created_at": _iso(row.created_at),
            "completed_at": _iso(row.completed_at), "incident_at": _iso(row.incident_at),
            "incident_by": row.incident_by, "resolved_at": _iso(row.resolved_at), "resolved_by": row.resolved_by}
