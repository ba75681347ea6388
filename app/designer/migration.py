"""Migrate running instances of older versions of a process to a newer deployed version.

Nothing is suspended: each instance moves in its own short transaction under its row lock (and the
optimistic `lock_version`), so a reviewer completing a task at the same moment either goes first
(the migration then sees the new state) or gets the usual 409 instance_changed. One transaction per
instance, not one per batch: a failure rolls back only that instance, and no reviewer waits behind
the locks of fifty others.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.core.errors import DomainError, InvalidInput
from app.engine.models import InstanceStatus, ProcessDefinition, ProcessInstance
from app.engine.runner import DefinitionInfo
from app.org.service import Actor
from app.runtime import Runtime


def target(session: Session, rt: Runtime, process_key: str, to_version: int | None) -> DefinitionInfo:
    """Return the version to migrate to (the newest when None); NotFound for an unknown process."""
    latest = rt.runner.latest(session, process_key)
    if to_version is None or to_version == latest.version:
        return latest
    definition_id = session.execute(
        select(ProcessDefinition.id).where(ProcessDefinition.process_key == process_key,
                                           ProcessDefinition.version == to_version)
    ).scalar_one_or_none()
    if definition_id is None:
        raise InvalidInput(f"流程“{process_key}”没有版本 {to_version}", code="version_unknown")
    return rt.runner.definition(session, definition_id)


def _older_running(session: Session, process_key: str, to: DefinitionInfo) -> list[tuple[ProcessInstance, int]]:
    rows = session.execute(
        select(ProcessInstance, ProcessDefinition.version)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(ProcessInstance.process_key == process_key,
               ProcessInstance.status == InstanceStatus.running.value,
               ProcessDefinition.version < to.version)
        .order_by(ProcessInstance.id)
    ).all()
    return [(instance, version) for instance, version in rows]


def candidates(session: Session, rt: Runtime, process_key: str, to_version: int | None) -> list[dict[str, Any]]:
    """List the running instances of older versions, whether each can move to `to_version` and why not.

    Instances already on `to_version` or a newer one, and finished instances, are not candidates.
    """
    to = target(session, rt, process_key, to_version)
    out: list[dict[str, Any]] = []
    for instance, version in _older_running(session, process_key, to):
        try:
            current, problems = rt.runner.migration_check(session, instance, to)
        except DomainError as exc:
            current, problems = [], [exc.message_zh]
        out.append({
            "instance_id": instance.id, "version": version, "started_at": instance.started_at.isoformat(),
            "current": current, "movable": not problems, "reason": "；".join(problems) or None,
            "subject": instance.subject,
        })
    return out


def migrate(session: Session, rt: Runtime, actor: Actor, process_key: str, to_version: int,
            instance_ids: list[int] | None) -> dict[str, Any]:
    """Move the given instances (None: every older running one) to `to_version`, one transaction each.

    Returns {"migrated": [ids], "failed": [{"instance_id", "reason"}]}; a failed instance is left
    exactly as it was.
    """
    to = target(session, rt, process_key, to_version)
    if instance_ids is None:
        ids = [instance.id for instance, _ in _older_running(session, process_key, to)]
        session.commit()  # end the read transaction: each instance gets its own
    else:
        ids = list(dict.fromkeys(instance_ids))
    migrated: list[int] = []
    failed: list[dict[str, Any]] = []
    for instance_id in ids:
        assert instance_id is not None
        try:
            rt.runner.migrate(session, instance_id, to, actor=actor)
            session.commit()
        except DomainError as exc:
            session.rollback()
            failed.append({"instance_id": instance_id, "reason": exc.message_zh})
        else:
            migrated.append(instance_id)
        # A long batch must not keep every instance's state in memory.
        session.expunge_all()
    return {"migrated": migrated, "failed": failed}
