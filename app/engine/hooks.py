"""Where areas plug their rules into the generic runner, keyed by process and task."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# (session, instance, task_row, data, actor) -> data to complete with (may normalise); raise DomainError to refuse
TaskValidator = Callable[..., dict[str, Any]]
# (session, instance, variables, actor) -> None; called after every step of an instance of the process
StepHandler = Callable[..., None]


# (session, task_row, at) -> None; called when a task row is completed or withdrawn
TaskClosedHandler = Callable[..., None]
# (session, task_row, instance, at) -> None; called when a new open task row is projected (not for trials)
TaskOpenedHandler = Callable[..., None]


@dataclass
class HookRegistry:
    validators: dict[tuple[str, str], TaskValidator] = field(default_factory=dict)
    step_handlers: dict[str, StepHandler] = field(default_factory=dict)
    task_closed: list[TaskClosedHandler] = field(default_factory=list)
    task_opened: list[TaskOpenedHandler] = field(default_factory=list)

    def on_task_opened(self, fn: TaskOpenedHandler) -> TaskOpenedHandler:
        """Register what happens, in every process, when a task arrives (a row is projected open)."""
        if fn not in self.task_opened:
            self.task_opened.append(fn)
        return fn

    def on_task_closed(self, fn: TaskClosedHandler) -> TaskClosedHandler:
        """Register what happens, in every process, when a task is done or withdrawn."""
        if fn not in self.task_closed:
            self.task_closed.append(fn)
        return fn

    def task_validator(self, process_key: str, task_spec: str) -> Callable[[TaskValidator], TaskValidator]:
        """Register the business validation of one user task's form data."""
        def deco(fn: TaskValidator) -> TaskValidator:
            self.validators[(process_key, task_spec)] = fn
            return fn
        return deco

    def after_step(self, process_key: str) -> Callable[[StepHandler], StepHandler]:
        """Register what an area records after each step of its process (outcomes, grants)."""
        def deco(fn: StepHandler) -> StepHandler:
            self.step_handlers[process_key] = fn
            return fn
        return deco


hooks = HookRegistry()
