"""Engine errors: typed domain errors the HTTP layer maps to 422 / 409 with a Chinese message."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.exceptions import WorkflowException

from app.core.errors import Conflict, InvalidInput

# What SpiffWorkflow raises when a running process goes wrong (for callers outside app/engine).
EngineFault = WorkflowException


class BpmnRejected(InvalidInput):
    """A BPMN file failed the deploy-time lint or could not be parsed."""

    code = "bpmn_rejected"
    message_zh = "流程定义未通过检查"
    message_en = "The process definition was rejected"

    def __init__(self, problems: list[tuple[str | None, str]] | list[tuple[str | None, str, str]] | str, *,
                 element_id: str | None = None, code: str = "parse") -> None:
        if isinstance(problems, str):
            problems = [(element_id, problems)]
        # Each problem: (element id or None, Chinese message, stable code of its kind).
        self.problems: list[tuple[str | None, str, str]] = [
            (p[0], p[1], p[2] if len(p) > 2 else code) for p in problems]  # type: ignore[misc]
        lines = [f"- {message}" for _, message, _ in self.problems]
        super().__init__(
            "流程定义未通过检查：\n" + "\n".join(lines),
            extra={"problems": [{"element_id": element_id, "message": message, "code": kind}
                                for element_id, message, kind in self.problems]},
        )


class ScriptError(InvalidInput):
    """A script or expression was refused by the sandbox or failed while running."""

    code = "script_error"
    message_zh = "流程脚本执行出错"
    message_en = "A process script failed"

    def __init__(self, message_zh: str, *, element_id: str | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        self.element_id = element_id
        self.detail_zh = message_zh
        payload = dict(extra or {})
        if element_id is not None:
            payload["element_id"] = element_id
            message_zh = f"流程元素 {element_id}：{message_zh}"
        super().__init__(message_zh, extra=payload)

    def at(self, element_id: str | None) -> ScriptError:
        """Return a copy of this error that names the BPMN element it happened in."""
        if element_id is None or self.element_id is not None:
            return self
        return type(self)(self.detail_zh, element_id=element_id)


class ScriptTimeout(ScriptError):
    """A script or expression ran past its CPU-time budget and was stopped."""

    code = "script_timeout"
    message_zh = "流程脚本运行超时"
    message_en = "A process script ran too long"


class ScriptOutOfMemory(ScriptError):
    """A script or expression asked for more memory than its worker's budget and was stopped."""

    code = "script_memory"
    message_zh = "流程脚本占用内存超限"
    message_en = "A process script used too much memory"


class TaskNotReady(Conflict):
    """The task does not exist, is not READY, or is not a user task."""

    code = "task_not_ready"
    message_zh = "该任务当前不可办理"
    message_en = "The task is not ready"


class MigrationRefused(Conflict):
    """A running instance cannot move to the requested definition version (nothing was changed)."""

    code = "migration_refused"
    message_zh = "该实例不能迁移到新版本"
    message_en = "The instance cannot move to the new version"
