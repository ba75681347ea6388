"""The engine facade: the one object the rest of GovFlow uses to run BPMN instances."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import (
    MessageEventDefinitionConverter,
    MultipleEventDefinitionConverter,
    TimerConditionalEventDefinitionConverter,
)
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins import ExclusiveGatewayMixin
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import StandardLoopTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.exceptions import TaskNotFoundException, WorkflowException
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from app.core.errors import InvalidInput
from app.engine.bpmn import (
    ClockCycleTimerEventDefinition,
    ClockDurationTimerEventDefinition,
    ClockTimeDateEventDefinition,
    GovflowMessageEventDefinition,
    GovflowMultipleEventDefinition,
    PassThroughTask,
    _strongly_connected,
    compile_definition,
    parse_instant,
    timer_keys,
    use_now,
)
from app.engine.errors import TaskNotReady, step_failed
from app.engine.external import ExternalTask, ExternalTaskConverter, ReadyExternalTask, ready_external_tasks, throw_error
from app.engine.multi_instance import MULTI_INSTANCE_CLASSES, GovflowMultiInstanceConverter
from app.engine.restricted import normalize_data
from app.engine.sandbox import RestrictedScriptEngine, script_step

# SpiffWorkflow logs every task state change at INFO with the workflow's data (names, ID numbers): never in
# the service log, whatever level the root logger has (app/core/logs.py sets INFO).
logging.getLogger("spiff").setLevel(logging.WARNING)

Specs = tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]
# The deployed processes a definition's call activities reach, pinned at deploy: process key ->
# (content hash, BPMN bytes or a loader of them).
Called = dict[str, tuple[str, bytes | Callable[[], bytes]]]

_HASH_ATTR = "_govflow_content_hash"
# What pruning removed from the tree, kept for the instance's diagram: the BPMN elements completed, those
# reached and then withdrawn (cancelled: a boundary timer, a withdrawal), and the (source, target) steps
# into them. Bounded by the process's elements and flows, however many rounds.
TRAIL_ATTR = "_govflow_trail"


class UncaughtBpmnError(InvalidInput):
    """A BPMN error raised on an external task that no error boundary event catches (nothing changed)."""

    code = "bpmn_error_uncaught"
    message_zh = "业务错误没有被流程捕获"
    message_en = "No error event of the process catches this BPMN error"


@dataclass(frozen=True)
class ReadyTask:
    """A user task waiting for a person."""

    id: str
    task_spec: str
    name: str
    data: dict[str, Any]


@dataclass(frozen=True)
class MigrationProblem:
    """Why an instance cannot move to a new definition version, at which element."""

    element: str
    message: str


@dataclass
class MigrationPlan:
    """The diff of one restored instance against a new version, and whether it may move."""

    content_hash: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    top: WorkflowDiff
    subprocesses: dict[UUID, WorkflowDiff | None]
    problems: list[MigrationProblem]


# --------------------------------------------------------------------------------------------
# Serialization


class LeanWorkflowConverter(BpmnWorkflowConverter):
    """Serialize a workflow with a reference to its definition instead of the whole spec."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        """Convert the instance state only; the spec is named by content hash."""
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["spec_ref"] = {"process": workflow.spec.name, "content_hash": getattr(workflow, _HASH_ATTR, None)}
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        trail = getattr(workflow, TRAIL_ATTR, None)
        if trail:
            dct["trail"] = {"reached": sorted(trail["reached"]), "withdrawn": sorted(trail["withdrawn"]),
                            "steps": sorted(map(list, trail["steps"]))}
        return dct

    def from_dict(self, dct: dict[str, Any], *, spec: BpmnProcessSpec | None = None,
                  subprocess_specs: dict[str, BpmnProcessSpec] | None = None) -> BpmnWorkflow:
        """Rebuild a workflow on the cached spec passed in by the engine."""
        if spec is None or subprocess_specs is None:
            raise ValueError("a lean workflow state needs its spec to be restored")
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        trail = dct.get("trail")
        if trail:
            setattr(workflow, TRAIL_ATTR, {"reached": set(trail["reached"]),
                                           "withdrawn": set(trail.get("withdrawn", ())),
                                           "steps": {(a, b) for a, b in trail["steps"]}})
        return workflow


def full_config() -> dict[type, type]:
    """Return the serializer config for our classes with SpiffWorkflow's spec-embedding workflow converter."""
    config = dict(CAMUNDA_CONFIG)
    config[PassThroughTask] = BpmnTaskSpecConverter
    config[ClockTimeDateEventDefinition] = TimerConditionalEventDefinitionConverter
    config[ClockDurationTimerEventDefinition] = TimerConditionalEventDefinitionConverter
    config[ClockCycleTimerEventDefinition] = TimerConditionalEventDefinitionConverter
    for mi_class in MULTI_INSTANCE_CLASSES:
        config[mi_class] = GovflowMultiInstanceConverter
    config[GovflowMessageEventDefinition] = MessageEventDefinitionConverter
    config[GovflowMultipleEventDefinition] = MultipleEventDefinitionConverter
    config[ExternalTask] = ExternalTaskConverter
    return config


def lean_config() -> dict[type, type]:
    """Return the serializer config that writes a spec reference instead of the spec."""
    config = full_config()
    config[BpmnWorkflow] = LeanWorkflowConverter
    return config


# --------------------------------------------------------------------------------------------
# The facade


class Engine:
    """Parse, run, save and restore BPMN instances with restricted scripts and lean state."""

    def __init__(self, *, script_timeout: float = 1.0, script_memory_mb: int = 256, script_workers: int = 2,
                 script_step_budget: float = 10.0) -> None:
        self._script_engine = RestrictedScriptEngine(
            timeout_seconds=script_timeout, memory_mb=script_memory_mb, workers=script_workers,
            step_budget_seconds=script_step_budget)
        self._specs: dict[str, Specs] = {}
        self._specs_lock = threading.Lock()
        # The serializer flips a mode flag on its registry while it dumps: one per thread.
        self._local = threading.local()

    # -- definitions ------------------------------------------------------------------------

    def spec(self, content_hash: str, xml: bytes | Callable[[], bytes], called: Called | None = None) -> Specs:
        """Return (top spec, subprocess specs) for a definition version, parsing it once.

        `xml` may be a loader: the bytes are then read only on a cache miss. `called` names the callee
        versions the caller was deployed against; they are part of the cache key, so a caller version
        always runs against the same callee versions.
        """
        key = _spec_key(content_hash, called)
        cached = self._specs.get(key)
        if cached is not None:
            return cached
        with self._specs_lock:
            cached = self._specs.get(key)
            if cached is not None:
                return cached
            if callable(xml):
                xml = xml()
            if hashlib.sha256(xml).hexdigest() != content_hash:
                raise ValueError(f"content hash {content_hash} does not match the BPMN bytes")
            callees: dict[str, bytes] = {}
            for name, (callee_hash, callee_xml) in (called or {}).items():
                raw = callee_xml() if callable(callee_xml) else callee_xml
                if hashlib.sha256(raw).hexdigest() != callee_hash:
                    raise ValueError(f"content hash {callee_hash} does not match the BPMN bytes of {name}")
                callees[name] = raw
            # Lint again: the cache must only ever hold definitions our rules accept.
            _, spec, subprocess_specs = compile_definition(xml, callees)
            _connect_loops(spec, subprocess_specs)
            entry = (spec, subprocess_specs)
            self._specs[key] = entry
            return entry

    def forget(self, content_hash: str) -> None:
        """Drop a parsed definition from the cache (a draft run once, e.g. by scenario tests, need not stay)."""
        with self._specs_lock:
            self._specs.pop(content_hash, None)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, content_hash: str, xml: bytes | Callable[[], bytes], variables: dict[str, Any],
              called: Called | None = None) -> BpmnWorkflow:
        """Create an instance with the given variables and run it to its first wait state."""
        spec, subprocess_specs = self.spec(content_hash, xml, called)
        values = normalize_data(variables, _invalid_variables)
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self._script_engine)
        setattr(workflow, _HASH_ATTR, content_hash)
        # The root task's data is inherited by every task that follows it.
        workflow.task_tree.data.update(values)
        with _engine_faults():
            _run_engine(workflow)
        return workflow

    def restore(self, state: str, content_hash: str, xml: bytes | Callable[[], bytes],
                called: Called | None = None) -> BpmnWorkflow:
        """Rebuild an instance from `dump` output on its definition version."""
        spec, subprocess_specs = self.spec(content_hash, xml, called)
        dct = json.loads(state)
        ref = dct.pop("spec_ref", None) or {}
        if ref.get("content_hash") != content_hash:
            raise ValueError(f"state belongs to definition {ref.get('content_hash')}, not {content_hash}")
        serializer = self._serializer()
        serializer.migrate(dct)
        workflow: BpmnWorkflow = serializer.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
        # SpiffWorkflow gives a restored workflow its default, unrestricted engine.
        workflow.script_engine = self._script_engine
        setattr(workflow, _HASH_ATTR, content_hash)
        return workflow

    def dump(self, workflow: BpmnWorkflow) -> str:
        """Prune finished history and serialize the instance (without its spec)."""
        self._prune(workflow)
        return str(self._serializer().serialize_json(workflow))

    def cancel(self, workflow: BpmnWorkflow) -> None:
        """Cancel every open task of the instance."""
        workflow.cancel()

    # -- migration --------------------------------------------------------------------------

    def plan_migration(self, workflow: BpmnWorkflow, content_hash: str,
                       xml: bytes | Callable[[], bytes], called: Called | None = None) -> MigrationPlan:
        """Diff a restored instance against another version and list what keeps it from moving.

        The rule: an instance can move unless a task it is in (READY, WAITING, STARTED or ERROR) or
        one it has finished lost its spec in the new version (removed, or matched only to an element
        of another id), a task it is in had its spec changed beyond its sequence flows (name, form
        script, timer, loop, type ...), or a running subprocess lost its definition. Changed
        `inputs`/`outputs` alone are what adding or rerouting steps around the current one looks like:
        the tasks ahead are predicted again on the new version.
        """
        spec, subprocess_specs = self.spec(content_hash, xml, called)
        registry = self._serializer().registry
        top, subprocesses = _diff_workflow(registry, workflow, spec, subprocess_specs)
        problems: list[MigrationProblem] = []
        _diff_problems(workflow, top, registry, problems)
        for sp_id, subprocess in workflow.subprocesses.items():
            sp_diff = subprocesses[sp_id]
            if sp_diff is None:
                element, label = _subprocess_label(workflow, sp_id, subprocess)
                problems.append(MigrationProblem(element, f"正在执行的子流程 {label} 的定义在新版本中已删除"))
            else:
                _diff_problems(subprocess, sp_diff, registry, problems)
        # The engine's own nodes (splits and joins around boundary events) are named only when nothing
        # a designer drew explains the refusal.
        if any(not p.element.startswith(_INTERNAL) for p in problems):
            problems = [p for p in problems if not p.element.startswith(_INTERNAL)]
        return MigrationPlan(content_hash, spec, subprocess_specs, top, subprocesses, problems)

    def migrate(self, workflow: BpmnWorkflow, plan: MigrationPlan) -> None:
        """Move a restored instance onto the planned version in place (only a plan without problems).

        Unlike SpiffWorkflow's `migrate_workflow`, open tasks are not reset: a READY task keeps its
        id and data, a WAITING timer keeps the instant it already computed (a reset would restart a
        duration timer), and the tasks predicted after a STARTED subprocess are predicted again too
        (`migrate_workflow` leaves them on the old path, so a step added after a subprocess the
        instance is in would be skipped).
        """
        if plan.problems:
            raise ValueError("an instance with migration problems cannot be migrated")
        pairs: list[tuple[Any, WorkflowDiff, BpmnProcessSpec]] = [(workflow, plan.top, plan.spec)]
        for sp_id, subprocess in workflow.subprocesses.items():
            sp_diff = plan.subprocesses[sp_id]
            assert sp_diff is not None
            pairs.append((subprocess, sp_diff, plan.subprocess_specs[subprocess.spec.name]))
        for wf, diff, new_spec in pairs:
            wf.spec = new_spec
            for task in wf.tasks.values():
                aligned = diff.alignment.get(task)
                if aligned is not None:
                    task.task_spec = aligned
        workflow.subprocess_specs = plan.subprocess_specs
        for wf, _, _ in pairs:
            for task in list(wf.get_tasks(state=_ACTIVE, skip_subprocesses=True)):
                if task.id in wf.tasks:
                    _predict_again(task)
        setattr(workflow, _HASH_ATTR, plan.content_hash)

    # -- inspection for scenario tests (app.designer.scenarios) -------------------------------------

    @staticmethod
    def waiting_timers(workflow: BpmnWorkflow) -> dict[str, datetime | None]:
        """Return the timer events waiting now, by element id, with the instant each is due (if known).

        An event-based gateway's timer branches count, by the id of the branch's catch event.
        """
        out: dict[str, datetime | None] = {}
        for task, definition in _waiting_timer_definitions(workflow):
            element = definition.name if _waits_for_several(task) else getattr(task.task_spec, "bpmn_id", None)
            if element:
                out[str(element)] = _timer_due(task, definition)
        return out

    @staticmethod
    def timer_fired(workflow: BpmnWorkflow, element_id: str) -> bool:
        """Tell whether the timer event with this element id has fired."""
        return any(getattr(t.task_spec, "bpmn_id", None) == element_id and t.has_state(TaskState.COMPLETED)
                   for t in _all_tasks(workflow))

    @staticmethod
    def reached_pairs(workflow: BpmnWorkflow) -> set[tuple[str, str]]:
        """Return (source, target) element ids where target was reached from source, as the task tree
        holds them now (read before `dump`: saving prunes finished history)."""
        pairs: set[tuple[str, str]] = set()
        for task in _all_tasks(workflow):
            parent = task.parent
            if parent is None or not task.has_state(_REACHED):
                continue
            source, target = getattr(parent.task_spec, "bpmn_id", None), getattr(task.task_spec, "bpmn_id", None)
            if CAME_FROM_ATTR in task.internal_data:  # grafted by pruning onto an older ancestor
                source = came_from(task)
            if source and target:
                pairs.add((source, target))
        return pairs

    @staticmethod
    def end_event(workflow: BpmnWorkflow) -> str | None:
        """Return the end event of the top-level process the instance reached, or None while it runs."""
        if not workflow.is_completed():
            return None
        for task in workflow.tasks.values():
            if isinstance(task.task_spec, EndEvent) and task.has_state(TaskState.COMPLETED):
                return getattr(task.task_spec, "bpmn_id", None)
        return None

    def current_steps(self, workflow: BpmnWorkflow) -> list[str]:
        """Name the BPMN elements the instance is at (user tasks, waiting events), subprocesses too."""
        names: list[str] = []
        for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
            if getattr(task.task_spec, "bpmn_id", None) is None:
                continue  # the engine's own joins and splits
            name = task.task_spec.bpmn_name or task.task_spec.bpmn_id
            if name not in names:
                names.append(name)
        return names

    def current_elements(self, workflow: BpmnWorkflow) -> list[str]:
        """Label the BPMN elements the instance is at as 名称（id）, subprocesses too (the stuck-instance report)."""
        labels: list[str] = []
        for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED):
            if getattr(task.task_spec, "bpmn_id", None) is None or _is_subprocess_task(task):
                continue  # the engine's own joins and splits; a subprocess is named by what waits inside it
            label = _task_label(task)
            if label not in labels:
                labels.append(label)
        return labels

    # -- tasks ------------------------------------------------------------------------------

    def ready_user_tasks(self, workflow: BpmnWorkflow) -> list[ReadyTask]:
        """List the user tasks a person may work now, in subprocesses too."""
        return [
            ReadyTask(id=str(task.id), task_spec=_element_id(task),
                      name=task.task_spec.bpmn_name or _element_id(task), data=copy.deepcopy(task.data))
            for task in workflow.get_tasks(state=TaskState.READY, manual=True)
            if isinstance(task.task_spec, UserTask)
        ]

    def complete_user_task(self, workflow: BpmnWorkflow, task_id: str, data: dict[str, Any]) -> None:
        """Complete a READY user task with the submitted data and run the engine on."""
        task = _find_task(workflow, task_id)
        if task is None:
            raise TaskNotReady(f"任务 {task_id} 不存在", extra={"task_id": task_id})
        element = _element_id(task)
        if not isinstance(task.task_spec, UserTask) or not task.task_spec.manual:
            raise TaskNotReady(f"任务 {task_id}（{element}）不是用户任务", extra={"task_id": task_id})
        if task.state != TaskState.READY:
            state = TaskState.get_name(task.state)
            raise TaskNotReady(f"任务 {task_id}（{element}）当前状态为 {state}，不可办理",
                               extra={"task_id": task_id})
        # Checked before anything changes, so a refusal leaves the instance as it was.
        values = normalize_data(data, _invalid_form)
        task.data.update(values)
        with _engine_faults():
            task.run()
            _run_engine(workflow)

    # -- external tasks (camunda:type="external") ---------------------------------------------

    @staticmethod
    def ready_external_tasks(workflow: BpmnWorkflow) -> list[ReadyExternalTask]:
        """List the external tasks waiting for a worker (id, element id, topic, name), subprocesses too."""
        return ready_external_tasks(workflow)

    def _external_task(self, workflow: BpmnWorkflow, task_id: str) -> Task:
        task = _find_task(workflow, task_id)
        if task is None:
            raise TaskNotReady(f"外部任务 {task_id} 不存在", extra={"task_id": task_id})
        element = _element_id(task)
        if not isinstance(task.task_spec, ExternalTask):
            raise TaskNotReady(f"任务 {task_id}（{element}）不是外部任务", extra={"task_id": task_id})
        if task.state != TaskState.READY:
            raise TaskNotReady(f"外部任务 {task_id}（{element}）当前状态为 {TaskState.get_name(task.state)}，不可办理",
                               extra={"task_id": task_id})
        return task

    def complete_external_task(self, workflow: BpmnWorkflow, task_id: str, variables: dict[str, Any]) -> None:
        """Complete a waiting external task with the worker's variables merged and run the engine on."""
        task = self._external_task(workflow, task_id)
        values = normalize_data(variables, _invalid_variables)
        task.data.update(values)
        with _engine_faults():
            task.run()
            workflow.do_engine_steps()

    def external_task_error(self, workflow: BpmnWorkflow, task_id: str, code: str, message: str,
                            variables: dict[str, Any]) -> None:
        """Raise a BPMN error on a waiting external task: an error boundary event catches it (the task is
        withdrawn) and the engine runs on. An error nothing catches is a 422 and changes nothing."""
        task = self._external_task(workflow, task_id)
        values = normalize_data(variables, _invalid_variables)
        with _engine_faults():
            caught = throw_error(task, code, values)
            if not caught:
                element = _element_id(task)
                raise UncaughtBpmnError(
                    f"流程元素 {element}：外部任务报告的业务错误“{code}”没有边界错误事件捕获"
                    f"{f'（{message[:200]}）' if message else ''}；流程未作任何改变。"
                    "请流程设计人员在该任务或其所在子流程上添加捕获该错误码的边界错误事件，或由外部系统报告失败",
                    extra={"element_id": element, "error_code": code})
            workflow.do_engine_steps()

    # -- going back (退回, 撤回) ---------------------------------------------------------------

    def returnable_steps(self, workflow: BpmnWorkflow, task_id: str | None = None) -> list[tuple[str, str]]:
        """Return (element id, name) of the completed user tasks the instance can be reset to, nearest first.

        Given an open task, only the steps on its way here count (its ancestors in the task tree, across
        subprocesses): resetting to one of them withdraws that task. A step whose history was pruned (a
        finished loop round) is not in the tree any more and is not offered.
        """
        if task_id is not None:
            current = _find_task(workflow, task_id)
            candidates = _ancestors(current) if current is not None else []
        else:
            candidates = sorted(_all_tasks(workflow), key=lambda t: t.last_state_change, reverse=True)
        out: dict[str, str] = {}
        for task in candidates:
            if isinstance(task.task_spec, UserTask) and task.has_state(TaskState.COMPLETED):
                element = _element_id(task)
                out.setdefault(element, task.task_spec.bpmn_name or element)
        return list(out.items())

    def reset_to(self, workflow: BpmnWorkflow, element_id: str, task_id: str | None = None) -> str:
        """Reopen the latest completed user task of an element (on the way to `task_id` if given); return its id.

        Everything after it is dropped (SpiffWorkflow's reset_from_task_id) and the task is READY again
        under its own id: the caller renames the first pass's task row. (Giving the engine task a fresh
        id instead left the steps after it without the process data when they ran again.)
        """
        if task_id is not None:
            current = _find_task(workflow, task_id)
            candidates = _ancestors(current) if current is not None else []
        else:
            candidates = sorted(_all_tasks(workflow), key=lambda t: t.last_state_change, reverse=True)
        target = next((t for t in candidates if isinstance(t.task_spec, UserTask)
                       and t.has_state(TaskState.COMPLETED) and _element_id(t) == element_id), None)
        if target is None:
            raise TaskNotReady(f"流程无法回到步骤 {element_id}", extra={"element": element_id})
        workflow.reset_from_task_id(target.id)
        with _engine_faults():
            _run_engine(workflow)
        return str(target.id)

    # -- state ------------------------------------------------------------------------------

    def is_completed(self, workflow: BpmnWorkflow) -> bool:
        """Return True once the instance has no open task (ended or cancelled)."""
        return bool(workflow.is_completed())

    def data(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        """Return the instance's variables: final ones after it ended, the latest so far before."""
        merged: dict[str, Any] = dict(workflow.data)
        if workflow.last_task is not None:
            merged.update(workflow.last_task.data)
        # Work inside a running subprocess is newer than its parent's last completed task.
        for subprocess in sorted(workflow.get_active_subprocesses(), key=lambda sp: sp.depth):
            if subprocess.last_task is not None:
                merged.update(subprocess.last_task.data)
        return copy.deepcopy(merged)

    # -- timers -----------------------------------------------------------------------------

    def next_timer_at(self, workflow: BpmnWorkflow) -> datetime | None:
        """Return the earliest instant a waiting timer is due (aware UTC), or None.

        Every timer an instance waits on counts: catch events, boundary events of any kind (on user tasks,
        subprocesses, call activities, multi-instance tasks), timers in subprocesses and called processes,
        cycles (their next repetition) and each timer branch of an event-based gateway.
        """
        due = [at for task, definition in _waiting_timer_definitions(workflow)
               if (at := _timer_due(task, definition)) is not None]
        return min(due) if due else None

    def fire_timers(self, workflow: BpmnWorkflow, now: datetime) -> None:
        """Fire the timers due at `now` (our clock, not the wall clock) and run the engine on."""
        with use_now(now), _engine_faults():
            workflow.refresh_timers()
            _run_engine(workflow)

    # -- messages ---------------------------------------------------------------------------

    @staticmethod
    def waiting_messages(workflow: BpmnWorkflow) -> list[str]:
        """Return the names of the messages the instance waits for now (called processes too), sorted."""
        names: set[str] = set()
        for task in workflow.event_manager.tasks.values():
            names.update(d.name for d in _event_definitions(task) if isinstance(d, GovflowMessageEventDefinition))
        return sorted(names)

    def deliver_message(self, workflow: BpmnWorkflow, name: str, variables: dict[str, Any]) -> bool:
        """Deliver a message with variables to the events waiting for it and run the engine on.

        Return False (nothing changed) when no event of the instance waits for that message.
        """
        values = normalize_data(variables, _invalid_variables)
        if name not in self.waiting_messages(workflow):
            return False
        event = BpmnEvent(GovflowMessageEventDefinition(name), payload=values)
        try:
            workflow.send_event(event)
        except WorkflowException:
            return False
        with _engine_faults():
            _run_engine(workflow)
        return True

    # -- internals --------------------------------------------------------------------------

    def _serializer(self) -> BpmnWorkflowSerializer:
        serializer = getattr(self._local, "serializer", None)
        if serializer is None:
            serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(lean_config()))
            self._local.serializer = serializer
        return serializer

    @staticmethod
    def _prune(workflow: BpmnWorkflow) -> None:
        """Drop finished loop iterations, finished laps of sequence flows drawn back and finished
        subprocesses so state stays flat over rounds."""
        for wf in [workflow, *workflow.subprocesses.values()]:
            for task in list(wf.tasks.values()):
                if isinstance(task.task_spec, StandardLoopTask):
                    _prune_iterations(wf, task)
                elif isinstance(task.task_spec, MULTI_INSTANCE_CLASSES):
                    _prune_instances(wf, task)
            _prune_laps(workflow, wf)

        tasks: dict[UUID, Task] = dict(workflow.tasks)
        for subprocess in workflow.subprocesses.values():
            tasks.update(subprocess.tasks)
        removed = True
        while removed:
            removed = False
            for parent_id, subprocess in list(workflow.subprocesses.items()):
                parent = tasks.get(parent_id)
                # An orphan's parent task was pruned with an enclosing subprocess or iteration.
                finished = parent is None or (
                    subprocess.completed and parent.has_state(TaskState.FINISHED_MASK))
                if finished:
                    _keep_trail(workflow, subprocess)
                    del workflow.subprocesses[parent_id]
                    for task_id in subprocess.tasks:
                        tasks.pop(task_id, None)
                    removed = True


def _keep_trail(workflow: BpmnWorkflow, subprocess: Any) -> None:
    """Record the elements of a subprocess about to be pruned that completed, or were reached and then
    withdrawn (cancelled after the step before them completed), and the steps into them."""
    _record_trail(workflow, subprocess.tasks.values())


def _record_trail(workflow: BpmnWorkflow, tasks: Any) -> None:
    """Record, for tasks about to be pruned, what `_keep_trail` records (read before any is removed)."""
    trail = getattr(workflow, TRAIL_ATTR, None)
    if trail is None:
        trail = {"reached": set(), "withdrawn": set(), "steps": set()}
        setattr(workflow, TRAIL_ATTR, trail)
    for task in tasks:
        element = getattr(task.task_spec, "bpmn_id", None)
        if element is None or not task.has_state(TaskState.COMPLETED | TaskState.CANCELLED):
            continue
        source = came_from(task)
        if task.has_state(TaskState.COMPLETED):
            trail["reached"].add(element)
        elif source is not None:
            trail["withdrawn"].add(element)
        else:
            continue  # a prediction cancelled before the token got there
        if source is not None and source != element:
            trail["steps"].add((source, element))


# Set on a task whose parent pruning removed from the middle of the tree: the element the token came
# from ("" when the step before it had not completed), which its new parent no longer tells.
CAME_FROM_ATTR = "_govflow_came_from"


def came_from(task: Task) -> str | None:
    """Return the BPMN element a reached task was entered from, or None (no completed step before it).

    The nearest ancestor that is a BPMN element (the engine's own splits and joins are skipped), unless
    pruning grafted the task or one of those engine nodes onto an older ancestor: then what it recorded.
    """
    node = task
    while True:
        marked = node.internal_data.get(CAME_FROM_ATTR)
        if marked is not None:
            return marked or None
        parent = node.parent
        if parent is None:
            return None
        element = getattr(parent.task_spec, "bpmn_id", None)
        if element is not None:
            return str(element) if parent.has_state(TaskState.COMPLETED) else None
        node = parent


def _prune_laps(workflow: BpmnWorkflow, wf: Any) -> None:
    """Drop the finished laps of sequence flows drawn back (退回 as an arrow) from one (sub)workflow.

    SpiffWorkflow appends each lap to the task tree, so without this the state, every tree walk and
    the recursive ancestor checks of joins grow with the laps. Only tasks of elements on a cycle of the
    process are touched; kept are every open or predicted task and its ancestors, except:
    - a finished task on that path is *superseded* when a later (deeper) completed task of the same
      element follows it; it is removed and the task after it grafted onto its parent, unless a task
      that is not superseded hangs from it (its data is what that task is reset to: 退回/撤回 reset the
      latest completed occurrence of each user task with `reset_from_task_id`), or it is `last_task`;
    - a finished branch beside that path (a parallel branch that ended at a join, a boundary event
      withdrawn) is removed once the task it forks from is superseded, or, on a cycle, once every join
      the branch ended at has fired further down the path: a join in a later lap then counts only the
      branches of its own lap.
    What is removed goes to the trail (reached and withdrawn elements, steps) for the diagram.
    """
    cyclic = _cyclic_specs(wf.spec)
    if not cyclic:
        return
    tasks = wf.tasks
    # Open tasks where the finished part ends (what is predicted after them hangs below them).
    anchors = [task for task in tasks.values() if not task.has_state(TaskState.FINISHED_MASK)
               and (task.parent is None or task.parent.has_state(TaskState.FINISHED_MASK))]
    last = wf.last_task if wf.last_task is not None and wf.last_task.id in tasks else None
    if last is not None:
        anchors.append(last)
    path: set[UUID] = set()
    superseded: set[UUID] = set()
    for anchor in anchors:
        below: set[str] = set()
        node: Task | None = anchor
        while node is not None:
            name = node.task_spec.name
            if name in cyclic and name in below and node.has_state(TaskState.COMPLETED):
                superseded.add(node.id)
            if node.has_state(TaskState.COMPLETED):
                below.add(name)
            path.add(node.id)
            node = node.parent
    if last is not None:
        superseded.discard(last.id)
    if not superseded and not any(tasks[task_id].task_spec.name in cyclic for task_id in path):
        return
    # Finished branches beside the path.
    for task_id in list(path):
        fork = tasks.get(task_id)
        if fork is None or not fork.has_state(TaskState.FINISHED_MASK):
            continue
        if task_id not in superseded and fork.task_spec.name not in cyclic:
            continue
        for side in [child for child in fork.children if child.id not in path]:
            if task_id in superseded or _joins_fired(side, fork, path):
                branch = list(side)
                _record_trail(workflow, branch)
                wf._remove_task(side.id)
    # Superseded tasks on the path, from the root down.
    kept_parents = {tasks[task_id]._parent for task_id in path
                    if task_id not in superseded and tasks[task_id]._parent is not None}
    for task_id in sorted(superseded, key=lambda tid: tasks[tid].depth):
        task = tasks[task_id]
        parent = task.parent
        if task_id in kept_parents or parent is None or len(task._children) != 1:
            continue
        [child] = task.children
        source = came_from(child)
        _record_trail(workflow, [task])
        child.internal_data[CAME_FROM_ATTR] = source or ""
        position = parent._children.index(task_id)
        parent._children[position] = child.id
        child._parent = parent.id
        del tasks[task_id]


def _joins_fired(side: Task, fork: Task, path: set[UUID]) -> bool:
    """Tell whether every join a finished side branch ended at has completed on the path below `fork`."""
    joins = {task.task_spec.name for task in side if isinstance(task.task_spec, Join)}
    if not joins:
        return True
    fired: set[str] = set()
    for task_id in path:
        task = side.workflow.tasks.get(task_id)
        if task is None or task.task_spec.name not in joins or not task.has_state(TaskState.COMPLETED):
            continue
        node = task.parent
        while node is not None and node is not fork:
            node = node.parent
        if node is fork:
            fired.add(task.task_spec.name)
    return fired == joins


def _cyclic_specs(spec: BpmnProcessSpec) -> frozenset[str]:
    """Return the names of the task specs of a process that lie on a cycle (parsed specs never change)."""
    cached = getattr(spec, _CYCLIC_ATTR, None)
    if cached is None:
        names = list(spec.task_specs)
        edges = {name: [output.name for output in task_spec.outputs]
                 for name, task_spec in spec.task_specs.items()}
        cached = frozenset(name for component in _strongly_connected(names, edges) for name in component)
        setattr(spec, _CYCLIC_ATTR, cached)
    return cached


_CYCLIC_ATTR = "_govflow_cyclic_specs"


def _prune_iterations(wf: Any, loop_task: Task) -> None:
    merged: list[str] = loop_task.internal_data.get("merged", [])
    positions = {task_id: i for i, task_id in enumerate(merged)}
    child_spec = loop_task.task_spec.task_spec
    for child in loop_task.children:
        position = positions.get(str(child.id))
        if child.task_spec.name != child_spec or position is None or not child.has_state(TaskState.COMPLETED):
            continue
        if wf.last_task is child:
            wf.last_task = loop_task
        wf._remove_task(child.id)
        # Keep the count (loopMaximum and the iteration index read len(merged)), drop the 36-char id.
        merged[position] = ""


def _prune_instances(wf: Any, mi_task: Task) -> None:
    """Drop the finished instances of a multi-instance task: their results are in the results list, their
    task rows in our tables; what stays is the open instances only, so 20 signers cost what one does."""
    merged: list[str] = mi_task.internal_data.get("merged", [])
    positions = {task_id: i for i, task_id in enumerate(merged)}
    child_spec = mi_task.task_spec.task_spec
    for child in list(mi_task.children):
        if child.task_spec.name != child_spec or not child.has_state(TaskState.FINISHED_MASK):
            continue
        if wf.last_task is child:
            wf.last_task = mi_task
        position = positions.get(str(child.id))
        if position is not None:
            merged[position] = ""  # the count is what the task reads; drop the 36-char id
        wf._remove_task(child.id)


_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
_REACHED = TaskState.COMPLETED | _ACTIVE


def _all_tasks(workflow: BpmnWorkflow) -> list[Task]:
    tasks = list(workflow.tasks.values())
    for sub in workflow.subprocesses.values():
        tasks.extend(sub.tasks.values())
    return tasks
# Marks a problem found on one of the engine's own nodes rather than on an element a designer drew.
_INTERNAL = "engine:"
# Spec attributes a designer recognises, for the reason an instance cannot move.
_ATTRIBUTE_NAMES = {
    "typename": "元素类型", "bpmn_name": "名称", "event_definition": "事件定义", "script": "脚本",
    "cond_task_specs": "条件", "condition": "循环条件", "default_task_spec": "默认路径",
    "extensions": "扩展属性", "form": "表单", "spec": "子流程", "cancel_activity": "是否中断",
    "data_input_associations": "输入数据", "data_output_associations": "输出数据",
    "prescript": "前置脚本", "postscript": "后置脚本", "maximum": "循环上限", "test_before": "循环方式",
    "inputs": "汇聚的分支",
}


def _task_label(task: Task) -> str:
    spec = task.task_spec
    element = getattr(spec, "bpmn_id", None) or spec.name
    name = getattr(spec, "bpmn_name", None)
    return f"{name}（{element}）" if name and name != element else str(element)


def _is_subprocess_task(task: Task) -> bool:
    return task.id in task.workflow.top_workflow.subprocesses or isinstance(task.task_spec, StandardLoopTask)


def _diff_problems(wf: Any, diff: WorkflowDiff, registry: Any, problems: list[MigrationProblem]) -> None:
    """Append the reasons the tasks of one (sub)workflow keep the instance from moving."""
    removed = {task.id for task in diff.removed}
    changed = {task.id for task in diff.changed}
    for task in wf.get_tasks(skip_subprocesses=True):
        element = _element_id(task)
        label = _task_label(task)
        active = task.has_state(_ACTIVE)
        finished = task.has_state(TaskState.FINISHED_MASK)
        if not (active or finished):
            continue  # predicted: it is predicted again on the new version
        if finished and task.id in changed and _splits_differently(task, diff) and _has_open_descendant(task):
            # The joins ahead count the branches this split started: a branch added or removed now
            # would leave the instance waiting at the join for ever.
            problems.append(MigrationProblem(
                element, f"实例正处在网关 {label} 分出的分支中，而该网关的分支在新版本中已变更"))
            continue
        aligned = diff.alignment.get(task)
        if task.id in removed or aligned is None or aligned.name != task.task_spec.name:
            if active and _is_subprocess_task(task):
                problems.append(MigrationProblem(element, f"正在执行的子流程 {label} 在新版本中已删除或改名"))
            elif active:
                problems.append(MigrationProblem(element, f"当前所在步骤 {label} 在新版本中已删除或改名"))
            elif getattr(task.task_spec, "bpmn_id", None) is None:
                problems.append(MigrationProblem(
                    f"{_INTERNAL}{element}", f"实例的办理记录无法对应到新版本（引擎节点 {element} 在新版本中不存在）"))
            else:
                problems.append(MigrationProblem(
                    element, f"已办结的步骤 {label} 在新版本中已删除或改名，实例的办理记录无法对应到新版本"))
            continue
        if active and not _reached_the_same_way(task, diff):
            problems.append(MigrationProblem(
                element, f"当前所在步骤 {label} 在新版本中的前序结构已变更（例如新增了边界事件），实例无法停留在该步骤"))
            continue
        if active and task.id in changed:
            attributes = _changed_attributes(registry, diff, task)
            if attributes:
                what = "、".join(_ATTRIBUTE_NAMES.get(a, a) for a in attributes)
                where = "正在执行的子流程" if _is_subprocess_task(task) else "当前所在步骤"
                problems.append(MigrationProblem(element, f"{where} {label} 在新版本中已变更（{what}）"))


def _splits_differently(task: Task, diff: WorkflowDiff) -> bool:
    """Tell whether a task starts several branches (not an exclusive choice) and the new version's differ."""
    old, new = task.task_spec, diff.alignment[task]
    if isinstance(old, ExclusiveGatewayMixin) or max(len(old.outputs), len(new.outputs)) < 2:
        return False
    return sorted(spec.name for spec in old.outputs) != sorted(spec.name for spec in new.outputs)


def _has_open_descendant(task: Task) -> bool:
    return any(descendant.has_state(_ACTIVE) for descendant in task if descendant is not task)


def _reached_the_same_way(task: Task, diff: WorkflowDiff) -> bool:
    """Tell whether the new spec of an open task is still entered from the task's parent's new spec.

    Not so, for example, when the new version attaches a boundary event to the step the instance is
    at: the step is then entered through a split the instance never passed, and the join after it
    fails when the step completes.
    """
    parent = task.parent
    if parent is None or parent.workflow is not task.workflow:
        return True
    new, new_parent = diff.alignment.get(task), diff.alignment.get(parent)
    if new is None or new_parent is None:
        return True  # reported as removed
    if not new.inputs and not parent.task_spec.outputs:
        return True
    return any(spec.name == new_parent.name for spec in new.inputs) or \
        not any(spec.name == parent.task_spec.name for spec in task.task_spec.inputs)


def _changed_attributes(registry: Any, diff: WorkflowDiff, task: Task) -> list[str]:
    # WorkflowDiff keeps the tasks, not what changed: compare the aligned specs as SpecDiff does.
    s1, s2 = registry.convert(task.task_spec), registry.convert(diff.alignment[task])
    if s1.get("typename") != s2.get("typename"):
        return ["typename"]
    # Only a join counts its inputs: the branches it waits for. Documentation does not change how a
    # step runs; a lane matters only through the role read from it at deploy (compared by the runner).
    ignored = {"outputs", "documentation", "lane", "lookahead"}
    if not isinstance(task.task_spec, Join):
        ignored.add("inputs")
    return [key for key, value in s1.items() if s2.get(key) != value and key not in ignored]


def _subprocess_label(workflow: BpmnWorkflow, sp_id: UUID, subprocess: Any) -> tuple[str, str]:
    try:
        task = workflow.get_task_from_id(sp_id)
    except TaskNotFoundException:
        return str(subprocess.spec.name), str(subprocess.spec.name)
    return _element_id(task), _task_label(task)


def _predict_again(task: Task) -> None:
    """Drop what was predicted after an open task and predict it again from the (new) spec."""
    for child in list(task.children):
        if child.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE):
            task.workflow._remove_task(child.id)
    present = {child.task_spec for child in task.children}
    for output in task.task_spec.outputs:
        if output not in present:
            task._add_child(output, TaskState.FUTURE)
    for child in task.children:
        if child.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE):
            child.task_spec._predict(child, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)


def _connect_loops(spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> None:
    """Connect loop merges once at cache time, so concurrent instances never race to connect them."""
    for process_spec in [spec, *subprocess_specs.values()]:
        for task_spec in process_spec.task_specs.values():
            if isinstance(task_spec, (StandardLoopTask, *MULTI_INSTANCE_CLASSES)):
                child_spec = process_spec.task_specs[task_spec.task_spec]
                if not child_spec.completed_event.is_connected(task_spec.merge_child):
                    child_spec.completed_event.connect(task_spec.merge_child)


def _event_definitions(task: Task) -> list[Any]:
    """Return what a waiting event task catches: its definition, or each branch's of an event-based gateway."""
    definition = task.task_spec.event_definition
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition]


def _waits_for_several(task: Task) -> bool:
    return isinstance(task.task_spec.event_definition, MultipleEventDefinition)


def _waiting_timer_definitions(workflow: BpmnWorkflow) -> list[tuple[Task, TimerEventDefinition]]:
    """Return (waiting task, timer definition) for every timer the instance waits on, subprocesses too."""
    out: list[tuple[Task, TimerEventDefinition]] = []
    for task in workflow.event_manager.tasks.values():
        if task.state != TaskState.WAITING:
            continue
        out.extend((task, d) for d in _event_definitions(task) if isinstance(d, TimerEventDefinition))
    return out


def _timer_due(task: Task, definition: TimerEventDefinition) -> datetime | None:
    """Return the instant a waiting timer is due next (a cycle: its next repetition), or None if unknown."""
    value = task.internal_data.get(timer_keys(definition, task)[0])
    if isinstance(value, dict):
        value = value.get("next") if value.get("cycles") != 0 else None
    return parse_instant(value) if isinstance(value, str) else None


def _spec_key(content_hash: str, called: Called | None) -> str:
    if not called:
        return content_hash
    return "+".join([content_hash, *(f"{name}:{called[name][0]}" for name in sorted(called))])


def _ancestors(task: Task) -> list[Task]:
    """The tasks before one in its tree, nearest first, through the subprocesses it sits in."""
    out: list[Task] = []
    node: Task | None = task.parent
    wf = task.workflow
    while True:
        while node is not None:
            out.append(node)
            node = node.parent
        parent_id = getattr(wf, "parent_task_id", None)
        if parent_id is None:
            return out
        top = wf.top_workflow
        try:
            sp_task = top.get_task_from_id(parent_id)
        except TaskNotFoundException:
            return out
        wf, node = sp_task.workflow, sp_task


class _CollaborationSpecDiff(SpecDiff):
    """SpecDiff that also aligns a collaboration's message-started pools, which are not outputs of its start
    task (app.engine.bpmn._collaboration_spec) and so are not reached by SpecDiff's walk from the start."""

    def __init__(self, registry: Any, original: BpmnProcessSpec, new: BpmnProcessSpec) -> None:
        super().__init__(registry, original, new)
        for name in getattr(original.start, "trigger_specs", ()):
            pool = original.task_specs.get(name)
            if pool is not None and pool not in self.alignment:
                self._align(pool, original, new)


def _diff_workflow(registry: Any, workflow: BpmnWorkflow, new_spec: BpmnProcessSpec,
                   new_dependencies: dict[str, BpmnProcessSpec]) -> tuple[WorkflowDiff, dict[UUID, Any]]:
    """SpiffWorkflow's diff_workflow with the top-level spec diffed by _CollaborationSpecDiff."""
    top = WorkflowDiff(workflow, _CollaborationSpecDiff(registry, workflow.spec, new_spec))
    subprocesses: dict[UUID, Any] = {}
    for sp_id, sp in workflow.subprocesses.items():
        dependency = new_dependencies.get(sp.spec.name)
        subprocesses[sp_id] = WorkflowDiff(sp, SpecDiff(registry, sp.spec, dependency)) if dependency else None
    return top, subprocesses


def _run_engine(workflow: BpmnWorkflow) -> None:
    """Run the engine to its next wait, then hand over the messages a pool sent before their catcher waited.

    A collaboration's pools message each other inside the instance (app.engine.bpmn.Collaboration).
    SpiffWorkflow keeps a message nothing catches yet in `bpmn_events` (saved with the instance); it is
    delivered once a catch of that name waits, so a reply sent before the asking pool reached its catch
    event is not lost.
    """
    workflow.do_engine_steps()
    while workflow.bpmn_events:
        waiting = set(Engine.waiting_messages(workflow))
        due = next((event for event in workflow.bpmn_events
                    if isinstance(event.event_definition, GovflowMessageEventDefinition)
                    and event.event_definition.name in waiting), None)
        if due is None:
            return
        workflow.bpmn_events.remove(due)
        if workflow.event_manager.catch(due) == 0:
            return  # not caught after all (its correlation differs): kept again by the catch
        workflow.do_engine_steps()


@contextlib.contextmanager
def _engine_faults() -> Iterator[None]:
    """Turn what SpiffWorkflow raises while running elements into a 422 naming the element (never a 500).

    Our own errors (a script refused or failed: ScriptError, which is not a WorkflowException) pass as they are.
    """
    try:
        with script_step():
            yield
    except WorkflowException as exc:
        raise step_failed(exc) from exc


def _find_task(workflow: BpmnWorkflow, task_id: str) -> Task | None:
    try:
        uuid = UUID(str(task_id))
    except ValueError:
        return None
    try:
        return workflow.get_task_from_id(uuid)
    except TaskNotFoundException:
        return None


def _element_id(task: Task) -> str:
    return getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name


def _invalid_variables(message: str) -> InvalidInput:
    return InvalidInput(f"流程变量无效：{message}")


def _invalid_form(message: str) -> InvalidInput:
    return InvalidInput(f"提交的数据无效：{message}")
