"""Camunda 7 external tasks (`bpmn:serviceTask camunda:type="external" camunda:topic="…"`).

The task waits like a user task (it is `manual`: do_engine_steps never runs it) until a worker of another
system fetches it by topic, then completes it with variables or raises a BPMN error that an error
boundary event attached to it (or to a subprocess around it) catches. app/external keeps the table of
fetchable tasks; this module is only the engine side: the task spec, its parser, its serializer and
the deploy-time lint.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.defaults import NoneTask
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
SERVICE_TASK = f"{_BPMN}serviceTask"
TOPIC = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
ERROR_CODE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def is_external(el: Any) -> bool:
    """Tell whether an element is a Camunda external service task (camunda:type="external")."""
    return el.tag == SERVICE_TASK and (el.get(f"{_CAMUNDA}type") or "").strip() == "external"


def lint_external(el: Any, problems: list[tuple[str | None, str, str]]) -> None:
    """Check an external task's topic: a safe identifier, so workers and the table can key on it."""
    owner = el.get("id")
    topic = (el.get(f"{_CAMUNDA}topic") or "").strip()
    if not topic:
        problems.append((owner, f"外部任务 {owner}：未设置主题（camunda:topic），外部系统按主题领取任务", "external_task"))
    elif not TOPIC.match(topic):
        problems.append((owner, f"外部任务 {owner}：主题“{topic[:120]}”无效：须以字母开头，由字母、数字和 . _ - "
                                "组成，最长 100 个字符", "external_task"))


class ExternalTask(NoneTask):
    """A service task done by an outside worker: waits (manual) until completed or failed with a BPMN error."""

    def __init__(self, wf_spec: Any, bpmn_id: str, topic: str = "", **kwargs: Any) -> None:
        kwargs.pop("manual", None)
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic
        self.manual = True


class ExternalTaskParser(CamundaTaskParser):
    """Parse an external service task into an ExternalTask with its topic."""

    def create_task(self) -> Any:
        topic = (self.node.get(f"{_CAMUNDA}topic") or "").strip()
        return ExternalTask(self.spec, self.bpmn_id, topic=topic, **self.bpmn_attributes)


class ExternalTaskConverter(BpmnTaskSpecConverter):
    """Serialize an ExternalTask with its topic."""

    def to_dict(self, spec: Any) -> dict[str, Any]:
        dct = self.get_default_attributes(spec)
        dct["topic"] = spec.topic
        return dct


@dataclass(frozen=True)
class ReadyExternalTask:
    """An external task waiting for a worker."""

    id: str
    element: str
    topic: str
    name: str
    variables: dict[str, Any]


_HAS_EXTERNAL_ATTR = "_govflow_has_external_tasks"


def _has_external_tasks(workflow: Any) -> bool:
    """Tell whether the instance's definition (or a process it calls) has external tasks; cached on the spec
    (parsed specs never change), so the many definitions without any skip the walk over the task tree."""
    spec = workflow.spec
    cached = getattr(spec, _HAS_EXTERNAL_ATTR, None)
    if cached is None:
        specs = [spec, *(workflow.subprocess_specs or {}).values()]
        cached = any(isinstance(ts, ExternalTask) for sp in specs for ts in sp.task_specs.values())
        setattr(spec, _HAS_EXTERNAL_ATTR, cached)
    return bool(cached)


def ready_external_tasks(workflow: Any) -> list[ReadyExternalTask]:
    """List the external tasks of an instance (subprocesses too) that wait for a worker."""
    if not _has_external_tasks(workflow):
        return []
    return [ReadyExternalTask(id=str(task.id), element=task.task_spec.bpmn_id, topic=task.task_spec.topic,
                              name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                              variables=copy.deepcopy(task.data))
            for task in workflow.get_tasks(state=TaskState.READY, manual=True)
            if isinstance(task.task_spec, ExternalTask)]


def throw_error(task: Any, code: str, payload: dict[str, Any]) -> bool:
    """Throw a BPMN error with `code` from an external task; return whether an error boundary event caught it.

    As in Camunda, the error is caught by an error boundary event attached to the task, else to the
    nearest subprocess around it whose boundary event matches (no code on the boundary event: any
    error). SpiffWorkflow's own propagation would end at *any* waiting error event of the instance,
    a boundary event of an unrelated parallel step included, so the catchers are found here. When none
    matches nothing has changed and False is returned.
    """
    node: Any = task
    while node is not None:
        matching = [sibling for sibling in _boundary_events(node)
                    if isinstance(sibling.task_spec.event_definition, ErrorEventDefinition)
                    and sibling.state == TaskState.WAITING
                    and sibling.task_spec.event_definition.code in (None, code)]
        # A boundary event naming the code wins over one catching any error (as in Camunda).
        exact = [sibling for sibling in matching if sibling.task_spec.event_definition.code == code]
        for catcher in (exact or matching)[:1]:
            definition = catcher.task_spec.event_definition
            # Named as the catcher's definition: SpiffWorkflow merges the payload it keeps under that name.
            event = BpmnEvent(ErrorEventDefinition(definition.name, code), payload=copy.deepcopy(payload))
            catcher.task_spec.catch(catcher, event)
            catcher.task_spec._update(catcher)
            return True
        node = _enclosing_subprocess_task(node)
    return False


def _boundary_events(task: Any) -> list[Any]:
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, BoundaryEventSplit):
        return []
    return [child for child in parent.children if isinstance(child.task_spec, BoundaryEvent)]


def _enclosing_subprocess_task(task: Any) -> Any:
    parent_id = getattr(task.workflow, "parent_task_id", None)
    if parent_id is None:
        return None
    try:
        return task.workflow.top_workflow.get_task_from_id(parent_id)
    except TaskNotFoundException:
        return None
