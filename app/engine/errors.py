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


class ProcessStepFailed(InvalidInput):
    """The engine could not run an element of the process (SpiffWorkflow raised): a 422 naming the element,
    in Chinese, never a 500. Nothing is stored: the request's transaction rolls back."""

    code = "process_step_failed"
    message_zh = "流程无法继续执行"
    message_en = "The process could not go on"

    def __init__(self, message_zh: str, *, element_id: str | None = None, engine_message: str = "") -> None:
        payload: dict[str, Any] = {"engine_message": engine_message[:500]}
        if element_id is not None:
            payload["element_id"] = element_id
            message_zh = f"流程元素 {element_id}：{message_zh}"
        super().__init__(message_zh, extra=payload)


def _data_name(data: Any) -> str:
    """“id”（name） of a declared data input or output: SpiffWorkflow keys the variable by the id."""
    bpmn_id = str(getattr(data, "bpmn_id", "") or "")
    name = str(getattr(data, "bpmn_name", "") or "")
    return f"“{bpmn_id}”" + (f"（{name}）" if name and name != bpmn_id else "")


def step_failed(exc: WorkflowException) -> ProcessStepFailed:
    """Translate an engine exception into a ProcessStepFailed naming the element it happened in."""
    task = getattr(exc, "task", None)
    spec = getattr(task, "task_spec", None) or getattr(exc, "task_spec", None)
    element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    data_output, data_input = getattr(exc, "data_output", None), getattr(exc, "data_input", None)
    if data_output is not None:
        message = (f"声明的输出数据{_data_name(data_output)}没有值：该元素结束时流程变量中须有同名的值。"
                   "请在它之前的脚本任务或表单中给出该变量，或删除这项输出声明")
    elif data_input is not None:
        message = (f"需要的输入数据{_data_name(data_input)}没有值：流程变量中须有同名的值。"
                   "请在它之前的脚本任务或表单中给出该变量，或删除这项输入声明")
    else:
        message = f"流程引擎无法执行该元素（{type(exc).__name__}），流程未作任何改变；请流程设计人员检查该元素的设置"
    return ProcessStepFailed(message, element_id=str(element) if element else None,
                             engine_message=str(getattr(exc, "message", None) or exc))


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
