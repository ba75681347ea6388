"""Our BPMN dialect: deploy-time lint, metadata the Camunda parser drops, and the parser we run with."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator, full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import EventBasedGatewayParser, ReceiveTaskParser, SendTaskParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    CallActivity,
    EndEvent,
    EventBasedGateway,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    NoneTask,
    ReceiveTask,
    ScriptTask,
    SendTask,
    StartEvent,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import (
    CamundaBoundaryEventParser,
    CamundaEndEventParser,
    CamundaIntermediateCatchEventParser,
    CamundaIntermediateThrowEventParser,
    CamundaStartEventParser,
)
from SpiffWorkflow.camunda.parser.task_spec import (
    CallActivityParser,
    CamundaTaskParser,
    ScriptTaskParser,
    SubWorkflowParser,
    UserTaskParser,
)
from SpiffWorkflow.camunda.specs.user_task import UserTask as CamundaUserTask

from app.core.clock import SHANGHAI, clock
from app.engine import juel
from app.engine.errors import BpmnRejected, ScriptError
from app.engine.external import SERVICE_TASK, ExternalTask, ExternalTaskParser, is_external, lint_external
from app.engine.multi_instance import (
    GovflowParallelMultiInstanceTask,
    GovflowSequentialMultiInstanceTask,
    results_variable,
)
from app.engine.restricted import RESERVED_DATA_KEY, assigned_names, compile_expression, compile_script
from app.engine.waits import lint_waits

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"


def _b(local: str) -> str:
    return f"{{{BPMN_NS}}}{local}"


def _c(local: str) -> str:
    return f"{{{CAMUNDA_NS}}}{local}"


# --------------------------------------------------------------------------------------------
# Metadata


@dataclass(frozen=True)
class FormField:
    """One camunda:formField of a user task, raw as the designer wrote it."""

    id: str
    label: str
    type: str
    required: bool
    options: tuple[tuple[str, str], ...]
    default: str | None
    constraints: dict[str, str]
    properties: dict[str, str]


@dataclass(frozen=True)
class UserTaskMeta:
    """What the Camunda parser drops about a user task: who works it, when it is due, its form."""

    task_spec: str
    name: str
    candidate_groups: tuple[str, ...]
    candidate_users: tuple[str, ...]
    assignee: str | None
    due_date: str | None
    priority: str | None
    lane: str | None
    properties: dict[str, str]
    form: tuple[FormField, ...]
    # Set for a multi-instance task (会签/或签): collection, element_variable, cardinality, sequential,
    # results (the variable collecting each instance's result) and assignee_variable.
    multi_instance: dict[str, Any] | None = None
    # Set for a user task inside a multi-instance subprocess whose camunda:assignee names that loop's
    # element variable (per signer, several steps): {"assignee_variable", "collection", "loop"}.
    assignee_from: dict[str, Any] | None = None


@dataclass(frozen=True)
class DeployedProcess:
    """A linted BPMN file: its executable process, content hash and user-task metadata."""

    process_key: str
    name: str
    content_hash: str
    user_tasks: dict[str, UserTaskMeta]
    has_timers: bool
    # Processes of other deployed files its call activities call (pinned by the runner at deploy).
    called: tuple[str, ...] = ()
    # Whether the process (or one it calls) waits for a message delivered through POST /api/messages.
    has_messages: bool = False
    # A collaboration's messages between its pools: delivered inside the instance, never from outside.
    internal_messages: tuple[str, ...] = ()
    # Whether the process (or one it calls) has external tasks (camunda:type="external") for workers.
    has_external_tasks: bool = False
    # camunda:initiator of the process's start event: the variable the runner sets to the starter's username.
    initiator: str | None = None


# --------------------------------------------------------------------------------------------
# Timers on our clock

_now_override: ContextVar[datetime | None] = ContextVar("govflow_engine_now", default=None)


def engine_now() -> datetime:
    """Return the instant timers compare against: the one set by `use_now`, else the app clock."""
    at = _now_override.get()
    return at if at is not None else clock.now()


@contextmanager
def use_now(at: datetime) -> Iterator[None]:
    """Make timers evaluated inside the block see `at` as now."""
    token = _now_override.set(to_utc(at))
    try:
        yield
    finally:
        _now_override.reset(token)


def to_utc(at: datetime) -> datetime:
    """Return an aware UTC instant; a naive one is read as Beijing time, like the app clock."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=SHANGHAI)
    return at.astimezone(timezone.utc)


def parse_instant(value: Any) -> datetime:
    """Parse an ISO 8601 date-time (or ISO week date) into an aware UTC instant."""
    if isinstance(value, datetime):
        return to_utc(value)
    text = str(value).strip()
    if "W" in text.upper():
        return TimerEventDefinition.parse_iso_week(text)
    return to_utc(datetime.fromisoformat(text))


def _timer_value_error(value: Any) -> ScriptError:
    return ScriptError(f"定时器的值 {value!r} 不是有效的 ISO 8601 时间")


class ClockTimeDateEventDefinition(TimeDateEventDefinition):
    """timeDate timer that fires at or after its instant on our clock (SpiffWorkflow uses datetime.now)."""

    def has_fired(self, my_task: Any) -> bool:
        """Fire once the instant is due; the evaluated instant is stored as UTC ISO text."""
        value_key, fired_key = timer_keys(self, my_task)
        event_value = my_task._get_internal_data(value_key)
        if event_value is None:
            value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            try:
                event_value = parse_instant(value).isoformat()
            except (TypeError, ValueError, AttributeError) as exc:
                raise _timer_value_error(value).at(my_task.task_spec.bpmn_id) from exc
            my_task._set_internal_data(**{value_key: event_value})
        # <= so that a host firing at exactly next_timer_at makes progress.
        if parse_instant(event_value) <= engine_now():
            my_task._set_internal_data(**{fired_key: True})
        return bool(my_task._get_internal_data(fired_key, False))


class ClockDurationTimerEventDefinition(DurationTimerEventDefinition):
    """timeDuration timer measured from our clock."""

    def has_fired(self, my_task: Any) -> bool:
        """Fire once the duration from the first evaluation has passed on our clock."""
        value_key, fired_key = timer_keys(self, my_task)
        event_value = my_task._get_internal_data(value_key)
        if event_value is None:
            value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            start = engine_now()
            try:
                parsed = TimerEventDefinition.parse_iso_duration(str(value))
                delta = TimerEventDefinition.get_timedelta_from_start(parsed, start)
                event_value = (start + delta).isoformat()
            except Exception as exc:  # SpiffWorkflow raises a bare Exception for a bad duration
                raise ScriptError(f"定时器的值 {value!r} 不是有效的 ISO 8601 时长").at(
                    my_task.task_spec.bpmn_id) from exc
            my_task._set_internal_data(**{value_key: event_value})
        if parse_instant(event_value) <= engine_now():
            my_task._set_internal_data(**{fired_key: True})
        return bool(my_task._get_internal_data(fired_key, False))


class ClockCycleTimerEventDefinition(CycleTimerEventDefinition):
    """timeCycle timer whose repetitions are counted on our clock."""

    def _evaluate(self, my_task: Any, now: datetime) -> dict[str, Any]:
        value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        try:
            cycles, start, duration = _parse_cycle(str(value), now)
        except Exception as exc:  # SpiffWorkflow raises a bare Exception for a bad interval
            raise ScriptError(f"定时器的值 {value!r} 不是有效的 ISO 8601 重复周期").at(
                my_task.task_spec.bpmn_id) from exc
        return {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}

    def cycle_complete(self, my_task: Any) -> bool:
        """Return True when the next repetition is due (same bookkeeping as SpiffWorkflow).

        Unlike SpiffWorkflow, the timer is done as soon as its last repetition fires: SpiffWorkflow
        waited for one more refresh to notice, with no instant left for the scheduler to come back at.
        """
        now = engine_now()
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = self._evaluate(my_task, now)

        ready = False
        if event_value["cycles"] != 0:
            next_event = parse_instant(event_value["next"])
            if next_event <= now:
                event_value["next"] = (next_event + timedelta(seconds=event_value["duration"])).isoformat()
                event_value["cycles"] -= 1
                ready = True
        if event_value["cycles"] == 0:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
            return ready
        my_task._set_internal_data(event_value=event_value)
        return ready

    def has_fired(self, my_task: Any) -> bool:
        """Alone, done after its last repetition; as one of several events (an event-based gateway's
        branch), it fires once, at its first repetition, like a timeDate."""
        if not isinstance(my_task.task_spec.event_definition, MultipleEventDefinition):
            return bool(my_task._get_internal_data("event_fired", False))
        value_key, fired_key = timer_keys(self, my_task)
        first = my_task._get_internal_data(value_key)
        if first is None:
            first = self._evaluate(my_task, engine_now())["next"]
            my_task._set_internal_data(**{value_key: first})
        if parse_instant(first) <= engine_now():
            my_task._set_internal_data(**{fired_key: True})
        return bool(my_task._get_internal_data(fired_key, False))


def timer_keys(definition: TimerEventDefinition, my_task: Any) -> tuple[str, str]:
    """Return the internal-data keys a timer keeps its due instant and its 'fired' flag under on its task.

    SpiffWorkflow keeps one `event_value` per task; a task waiting for several events (an event-based
    gateway, whose branches' definitions it holds, or a catch event with several definitions) would have
    all its timers share it: the first one evaluated set the instant of every other. Each timer of such a
    task gets its own keys, by its element id (the timer's name, see _ClockTimerParsing).
    """
    multiple = my_task.task_spec.event_definition
    if not isinstance(multiple, MultipleEventDefinition):
        return "event_value", "event_fired"
    value_key, fired_key = f"event_value:{definition.name}", f"event_fired:{definition.name}"
    if value_key not in my_task.internal_data and "event_value" in my_task.internal_data and \
            sum(isinstance(d, TimerEventDefinition) for d in multiple.event_definitions) == 1:
        # A state saved before timers had their own keys: its gateway's one timer keeps its instant.
        my_task.internal_data[value_key] = my_task.internal_data.pop("event_value")
    return value_key, fired_key


def _parse_cycle(expression: str, now: datetime) -> tuple[int, datetime, timedelta]:
    components = expression.upper().replace("--", "/").strip("R").split("/")
    cycles = int(components[0]) if components[0] else -1
    first = TimerEventDefinition.parse_time_or_duration(components[1])
    second = TimerEventDefinition.parse_time_or_duration(components[2]) if len(components) == 3 else None
    if isinstance(first, datetime):
        return cycles, first, TimerEventDefinition.get_timedelta_from_start(second, first)
    if isinstance(second, datetime):
        duration = TimerEventDefinition.get_timedelta_from_end(first, second)
        return cycles, second - duration, duration
    if second is None:
        duration = TimerEventDefinition.get_timedelta_from_start(first, now)
        return cycles, now + duration, duration
    raise ValueError("invalid recurring interval")


CLOCK_TIMERS: dict[type, type] = {
    TimeDateEventDefinition: ClockTimeDateEventDefinition,
    DurationTimerEventDefinition: ClockDurationTimerEventDefinition,
    CycleTimerEventDefinition: ClockCycleTimerEventDefinition,
}


# --------------------------------------------------------------------------------------------
# The parser


class PassThroughTask(NoneTask):
    """bpmn:task / bpmn:manualTask: Camunda passes through them; SpiffWorkflow would wait for a human."""

    def __init__(self, wf_spec: Any, bpmn_id: str, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


class GovflowMessageEventDefinition(MessageEventDefinition):
    """A message whose payload (a dict of variables) is merged into the data of the task that catches it.

    Camunda's definition stores the payload under one `<task>_Response` variable; the variables an outside
    answer brings (POST /api/messages) are process variables like a form's.
    """

    def update_task_data(self, my_task: Any) -> None:
        """Merge the delivered variables into the catching task's data."""
        payload = my_task.internal_data.pop(self.name, None)
        if isinstance(payload, dict):
            my_task.set_data(**payload)


class GovflowMultipleEventDefinition(MultipleEventDefinition):
    """The events one task waits for together: an event-based gateway's branches, or a catch event with
    several definitions. Unless `parallel`, exactly one is taken: the one caught first, or else the timer
    due earliest (SpiffWorkflow took every timer due at the same refresh, and a timer due at the refresh a
    message was caught in too, so a late scheduler ran two branches of an exclusive choice)."""

    def has_fired(self, my_task: Any) -> bool:
        """Tell whether the task may go on: one event caught or one timer due (all of them when parallel)."""
        if self.parallel:
            return bool(super().has_fired(my_task))
        seen = list(my_task.internal_data.get("seen_events", []))
        if not seen:
            due = [d for d in self.event_definitions if isinstance(d, TimerEventDefinition) and d.has_fired(my_task)]
            if due:
                seen = [BpmnEvent(min(due, key=lambda d: _due_instant(d, my_task)))]
        my_task.internal_data["seen_events"] = seen
        return bool(seen)


def _due_instant(definition: TimerEventDefinition, my_task: Any) -> datetime:
    value = my_task.internal_data.get(timer_keys(definition, my_task)[0])
    return parse_instant(value) if isinstance(value, str) else datetime.max.replace(tzinfo=timezone.utc)


class _ClockTimerParsing:
    def get_event_definition(self, xpaths: Any) -> Any:
        definition = super().get_event_definition(xpaths)  # type: ignore[misc]
        if type(definition) is MultipleEventDefinition:
            return GovflowMultipleEventDefinition(definition.event_definitions, definition.parallel,
                                                  description=definition.description)
        return definition

    def parse_timer_event(self, event: Any) -> Any:
        definition = super().parse_timer_event(event)  # type: ignore[misc]
        clock_class = CLOCK_TIMERS[type(definition)]
        # Named by element id, not by its label: an event-based gateway tells its branches' timers apart by
        # name (two labelled 超时 would be one), and each keeps its instant under its name (timer_keys).
        name = self.node.get("id") or definition.name  # type: ignore[attr-defined]
        return clock_class(name, definition.expression, description=definition.description)

    def parse_message_event(self, message_event: Any) -> Any:
        ref = message_event.get("messageRef")
        messages = self.process_parser.parser.messages  # type: ignore[attr-defined]
        if ref is not None and ref in messages and not messages[ref]:
            # SpiffWorkflow fails on a bpmn:message without a name (with a TypeError of its own); ours is
            # addressed by its id.
            return GovflowMessageEventDefinition(ref, self.get_message_correlations(ref),  # type: ignore[attr-defined]
                                                 description=self.get_event_description(message_event))  # type: ignore[attr-defined]
        definition = super().parse_message_event(message_event)  # type: ignore[misc]
        return GovflowMessageEventDefinition(message_name(message_event, definition.name),
                                             definition.correlation_properties, description=definition.description)


class _StartEventParser(_ClockTimerParsing, CamundaStartEventParser):
    pass


class _IntermediateCatchEventParser(_ClockTimerParsing, CamundaIntermediateCatchEventParser):
    pass


class _IntermediateThrowEventParser(_ClockTimerParsing, CamundaIntermediateThrowEventParser):
    pass


class _BoundaryEventParser(_ClockTimerParsing, CamundaBoundaryEventParser):
    pass


class _EndEventParser(_ClockTimerParsing, CamundaEndEventParser):
    pass


class _SendTaskParser(_ClockTimerParsing, SendTaskParser):
    pass


class _GovflowMultiInstanceParsing:
    """Parser mixin: the element's multi-instance loop is ours (app/engine/multi_instance.py), configured
    once at parse time and never rewritten at run time, whatever the element (user task, subprocess, call
    activity, script task, plain or manual task)."""

    node: Any
    spec: Any
    task: Any

    def _output_fields(self) -> tuple[str, ...]:
        """The child's variables each instance's results entry keeps (besides element variable and index)."""
        return _results_fields(self.node)

    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:
        mi = _multi_instance(self.node)
        assert mi is not None
        original = self.spec.task_specs.pop(self.task.name)
        task_class = GovflowSequentialMultiInstanceTask if mi["sequential"] else GovflowParallelMultiInstanceTask
        self.task = task_class(
            self.spec, original.name, "",
            cardinality=mi["cardinality"],
            data_input=TaskDataReference(mi["collection"]) if mi["collection"] else None,
            input_item=TaskDataReference(mi["element_variable"]) if mi["element_variable"] else None,
            data_output=TaskDataReference(mi["output"]) if mi["output"] else None,
            output_item=TaskDataReference(mi["output_item"]) if mi["output_item"] else None,
            condition=mi["condition"], results=mi["results"], output_fields=self._output_fields(),
            bpmn_name=original.bpmn_name, lane=original.lane,
            description="Sequential MultiInstance" if mi["sequential"] else "Parallel MultiInstance",
        )
        self._copy_task_attrs(original, loop_characteristics)  # type: ignore[attr-defined]


class _UserTaskParser(_GovflowMultiInstanceParsing, UserTaskParser):
    """Camunda user tasks whose multi-instance loop is ours; each instance's result keeps its form fields."""

    def _output_fields(self) -> tuple[str, ...]:
        return tuple(field.get("id") for field in
                     self.node.iterfind(f"{_b('extensionElements')}/{_c('formData')}/{_c('formField')}")
                     if field.get("id"))


class _TaskParser(_GovflowMultiInstanceParsing, CamundaTaskParser):
    """bpmn:task / bpmn:manualTask (passed through), multi-instance ours."""


class _ScriptTaskParser(_GovflowMultiInstanceParsing, ScriptTaskParser):
    pass


class _SubWorkflowParser(_GovflowMultiInstanceParsing, SubWorkflowParser):
    """Embedded subprocesses: a multi-instance one runs the whole subprocess once per item."""


class _CallActivityParser(_GovflowMultiInstanceParsing, CallActivityParser):
    pass


class _ReceiveTaskParser(_ClockTimerParsing, ReceiveTaskParser):
    pass


class _EventBasedGatewayParser(EventBasedGatewayParser):
    def create_task(self) -> Any:
        return self._create_task(GovflowMultipleEventDefinition())


class GovflowParser(CamundaParser):
    """CamundaParser whose timers use our clock and whose plain/manual tasks pass through."""

    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("startEvent"): (_StartEventParser, StartEvent),
        full_tag("intermediateCatchEvent"): (_IntermediateCatchEventParser, IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (_IntermediateThrowEventParser, IntermediateThrowEvent),
        full_tag("boundaryEvent"): (_BoundaryEventParser, BoundaryEvent),
        full_tag("endEvent"): (_EndEventParser, EndEvent),
        full_tag("sendTask"): (_SendTaskParser, SendTask),
        full_tag("receiveTask"): (_ReceiveTaskParser, ReceiveTask),
        full_tag("eventBasedGateway"): (_EventBasedGatewayParser, EventBasedGateway),
        full_tag("task"): (_TaskParser, PassThroughTask),
        full_tag("manualTask"): (_TaskParser, PassThroughTask),
        full_tag("userTask"): (_UserTaskParser, CamundaUserTask),
        # Only external tasks get this far: the lint refuses every other service task.
        full_tag("serviceTask"): (ExternalTaskParser, ExternalTask),
        full_tag("scriptTask"): (_ScriptTaskParser, ScriptTask),
        full_tag("subProcess"): (_SubWorkflowParser, CallActivity),
        full_tag("callActivity"): (_CallActivityParser, CallActivity),
    }


_validator: BpmnValidator | None = None
_validator_lock = threading.Lock()


def _bpmn_validator() -> BpmnValidator:
    global _validator
    with _validator_lock:
        if _validator is None:
            _validator = BpmnValidator()
        return _validator


# --------------------------------------------------------------------------------------------
# Lint

Problems = list[tuple[str | None, str, str]]  # (element id, Chinese message, code)

# Java cannot run here; the Camunda way to have another system do a step is an external task.
_USE_EXTERNAL_TASK = ("请改用外部任务：在服务任务上设置 camunda:type=\"external\" 和 camunda:topic（主题），"
                      "由对接系统按主题领取并完成")

_REFUSED_ELEMENTS: dict[str, str] = {
    _b("serviceTask"): f"服务任务（serviceTask）须是外部任务，本系统不执行 Java 代码或表达式；{_USE_EXTERNAL_TASK}",
    _b("sendTask"): "发送任务（sendTask）不受支持",
    _b("businessRuleTask"): "业务规则任务（businessRuleTask / DMN）不受支持",
    _c("executionListener"): "执行监听器（camunda:executionListener）不受支持",
    _c("taskListener"): "任务监听器（camunda:taskListener）不受支持",
    _c("inputOutput"): ("输入/输出映射（camunda:inputOutput）不受支持：请在该步骤之前用脚本任务设置变量，"
                        "多实例的输出请用 loopDataOutputRef 与 outputDataItem"),
    _c("connector"): "连接器（camunda:connector）不受支持",
    _c("in"): "调用活动的变量映射（camunda:in）不受支持：调用时全部流程变量传入被调用流程",
    _c("out"): "调用活动的变量映射（camunda:out）不受支持：被调用流程结束时其全部变量带回调用方",
    # SpiffWorkflow needs a Python implementation registered per data store and refused them in English,
    # naming no element; no store is registered here.
    _b("dataStore"): "数据存储（dataStore）不受支持：本系统不连接流程外的数据存储；流程数据请用流程变量和表单，"
                     "外部系统的答复通过消息接口（POST /api/messages）送达",
    _b("dataStoreReference"): "数据存储引用（dataStoreReference）不受支持：本系统不连接流程外的数据存储；"
                              "流程数据请用流程变量和表单",
}
# Messages come from outside (POST /api/messages) and are caught by a waiting instance; an instance
# sends none. A process's own message start event is accepted as SpiffWorkflow runs it: the instance, started
# as any other (by its area's flow or a trial run), waits there for the message. An outside message never
# creates an instance: a case is opened by the flow that checks its business data and records who opened it.
# An event subprocess's message start stays refused (SpiffWorkflow does not arm it here).
_MESSAGE_REFUSED_IN = {
    _b("startEvent"): "事件子流程的消息启动事件不受支持：请在主流程中用消息边界事件或消息中间捕获事件等待该消息",
    _b("intermediateThrowEvent"): "消息抛出事件不受支持：流程之间不互发消息，外部系统通过消息接口（POST /api/messages）投递",
    _b("endEvent"): "消息结束事件不受支持：流程之间不互发消息，外部系统通过消息接口（POST /api/messages）投递",
}
# The same constructs in an executable pool of a collaboration with no message flow to another pool.
_COLLABORATION_REFUSED = {
    _b("startEvent"): "消息启动事件没有来自本协作中另一个可执行池的消息流：没有池会发出这条消息，该池永远不会启动；"
                      "请从发送方画一条消息流连到它，或改用普通启动事件",
    _b("intermediateThrowEvent"): "消息抛出事件没有消息流连到本协作中另一个可执行池里等待同一消息的元素：池之间的消息"
                                  "只按消息流在同一实例内投递，外部系统通过消息接口（POST /api/messages）投递",
    _b("endEvent"): "消息结束事件没有消息流连到本协作中另一个可执行池里等待同一消息的元素：池之间的消息"
                    "只按消息流在同一实例内投递，外部系统通过消息接口（POST /api/messages）投递",
    _b("sendTask"): "发送任务没有消息流连到本协作中另一个可执行池里等待同一消息的元素：池之间的消息"
                    "只按消息流在同一实例内投递，外部系统通过消息接口（POST /api/messages）投递",
}
_DELEGATE_ATTRIBUTES = ("class", "delegateExpression", "expression")
_LISTENERS = (_c("executionListener"), _c("taskListener"))  # their delegate attributes carry no prefix
_CONTAINERS = {_b("process"), _b("subProcess"), _b("transaction"), _b("adHocSubProcess")}
_NOT_FLOW_NODES = {
    _b(name) for name in (
        "sequenceFlow", "laneSet", "dataObject", "dataObjectReference", "dataStoreReference",
        "textAnnotation", "association", "group", "extensionElements", "documentation",
        "ioSpecification", "property", "standardLoopCharacteristics", "multiInstanceLoopCharacteristics",
        "dataInputAssociation", "dataOutputAssociation",
    )
}
# Owners named in messages: the flow element, not its definition/expression children.
_NOT_OWNERS = re.compile(r"(EventDefinition|LoopCharacteristics|Expression|formalExpression)$")
_ISO_LITERAL = re.compile(r"^(R\d*/)?P[0-9YMWDTHS.,]+$|^\d{4}-\d{2}-\d{2}", re.IGNORECASE)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _owner_id(el: Any) -> str | None:
    """Return the id of the BPMN element a problem belongs to (the nearest one with an id)."""
    node = el
    while node is not None:
        if isinstance(node.tag, str) and node.get("id") and node.tag.startswith(f"{{{BPMN_NS}}}") \
                and not _NOT_OWNERS.search(_local(node.tag)):
            return str(node.get("id"))
        node = node.getparent()
    return None


def _parse_xml(xml: bytes) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             load_dtd=False, dtd_validation=False)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise BpmnRejected([(None, f"不是有效的 XML：{exc}", "xml_invalid")]) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise BpmnRejected([(None, "不允许 DOCTYPE 或实体声明", "hostile_xml")])
    if root.tag != _b("definitions"):
        raise BpmnRejected([(None, "根元素必须是 bpmn:definitions（BPMN 2.0 命名空间）", "xml_invalid")])
    return root


def _lint(root: Any) -> Problems:
    problems: Problems = []
    # First, so that every check below (and the parser) reads Python where the designer wrote JUEL.
    untranslated = translate_juel(root, problems)
    collaboration = collaboration_of(root)
    for el in root.iter():
        if isinstance(el, etree._Entity):
            problems.append((_owner_id(el.getparent()), "不允许实体引用", "hostile_xml"))
            continue
        if not isinstance(el.tag, str):  # comments, processing instructions
            continue
        owner = _owner_id(el)
        _lint_element(el, owner, problems, untranslated, collaboration)
    for container in root.iter(*_CONTAINERS):
        _lint_cycles(container, problems)
    _lint_messages(root, problems, collaboration)
    _lint_calls(root, problems)
    _lint_initiator(root, problems)
    problems.extend(lint_waits(root))
    return problems


def _lint_initiator(root: Any, problems: Problems) -> None:
    """camunda:initiator names a process variable: a plain identifier, not a reserved name."""
    for start in root.iter(_b("startEvent")):
        name = start.get(_c("initiator"))
        if name is not None and (not name.strip().isidentifier() or name.strip().startswith("_")
                                 or name.strip() in ("typename", RESERVED_DATA_KEY)):
            problems.append((start.get("id"), f"开始事件 {start.get('id')}：发起人变量名（camunda:initiator）"
                                              f"“{name}”无效，请使用字母开头的变量名", "initiator"))


# Where a JUEL expression is translated into Python: texts SpiffWorkflow evaluates as expressions.
_JUEL_EXPRESSIONS = {_b(name) for name in (
    "conditionExpression", "condition", "loopCondition", "loopCardinality", "completionCondition",
    "timeDate", "timeDuration", "timeCycle")}
# Texts never evaluated as an expression: `${` there is just text (a script body is Python).
_JUEL_FREE_TEXTS = {_b("documentation"), _b("text"), _b("script")}
_DELEGATE_QNAMES = frozenset(_c(attr) for attr in _DELEGATE_ATTRIBUTES)
_ASSIGNMENT_ATTRIBUTES = {_c("assignee"): "办理人（camunda:assignee）",
                          _c("candidateUsers"): "候选人（camunda:candidateUsers）",
                          _c("candidateGroups"): "候选角色（camunda:candidateGroups）"}


def translate_juel(root: Any, problems: Problems | None = None) -> set[Any]:
    """Rewrite the file's JUEL (`${…}` / `#{…}`) into Python in place (app/engine/juel.py).

    Translated: conditions, loop and multi-instance expressions and timers (the whole subset);
    `camunda:collection="${signers}"` and a multi-instance task's `camunda:assignee="${signer}"` (a
    plain variable name, which the multi-instance lint then checks). Anything else holding `${`/`#{`
    is reported in `problems`, naming the element and quoting the expression, code "expression";
    texts that are not expressions (documentation, annotations, Python scripts, `name`) are left
    alone, and so is what is refused anyway (Java delegate attributes, listeners, connectors…).
    Returns the expression elements left untranslated (their Python check would only repeat it).
    The stored file keeps the designer's JUEL: only the parsed tree is rewritten.
    """
    untranslated: set[Any] = set()

    def refuse(el: Any, text: str, reason: str) -> None:
        if problems is not None:
            owner = _owner_id(el)
            where = f"元素 {owner}" if owner else "文件"
            problems.append((owner, f"{where}：表达式 {juel.quote(text)} 无法执行：{reason}", "expression"))

    stack = [root]
    while stack:
        el = stack.pop()
        if not isinstance(el.tag, str) or el.tag in _REFUSED_ELEMENTS:
            continue  # comments; elements refused whole (a service task, a listener…), with their content
        stack.extend(reversed(el))
        text = el.text
        if el.tag in _JUEL_EXPRESSIONS and juel.is_juel(text):
            # Another language is refused by the lint, naming it.
            if (el.get("language") or "juel").strip().lower() == "juel":
                try:
                    el.text = juel.translate(text).text
                    el.attrib.pop("language", None)
                except juel.JuelRefused as exc:
                    untranslated.add(el)
                    refuse(el, text, exc.reason)
        elif el.tag not in _JUEL_FREE_TEXTS and juel.is_juel(text):
            refuse(el, text, "此处的文字不按表达式求值（只有条件、循环与多实例表达式、定时器支持 JUEL）")
        for attr, value in list(el.attrib.items()):
            if not juel.is_juel(value) or attr == "name" or attr in _DELEGATE_QNAMES:
                continue  # a name is a label; Java delegates are refused as such
            if attr == _c("collection") and el.tag == _b("multiInstanceLoopCharacteristics") \
                    or attr == _c("assignee") and (el.find(_b("multiInstanceLoopCharacteristics")) is not None
                                                   or juel.bare_variable(value) in _loop_variables(el)):
                # `${signers}` → signers; anything else is left for the multi-instance lint to refuse.
                name = juel.bare_variable(value)
                if name:
                    el.set(attr, name)
            elif attr == _c("assignee") and el.tag == _b("userTask") and juel.bare_variable(value) \
                    and _split(el.get(_c("candidateGroups"))):
                # `${approver}` on a task with candidate roles: the runner designates the task to the
                # person the variable names, who must hold one of those roles (_assignee_from). Kept as
                # written: the metadata tells a variable from a literal username by its `${}`.
                continue
            elif attr in _ASSIGNMENT_ATTRIBUTES:
                refuse(el, value, f"{_ASSIGNMENT_ATTRIBUTES[attr]}不能由表达式取自流程变量：任务按候选角色"
                                  "（camunda:candidateGroups，填写角色名）分派到部门待办；要把任务交给变量所指的一个人，"
                                  "请在设置了候选角色的任务上写 camunda:assignee=\"${变量名}\"（变量为用户名）；"
                                  "要交给变量所列的多人，请用多实例用户任务（camunda:collection 与 "
                                  "camunda:elementVariable，camunda:assignee 写元素变量名）")
            else:
                refuse(el, value, f"属性 {_qualified(attr)} 不按表达式求值（只有条件、循环与多实例表达式、"
                                  "定时器支持 JUEL）")
    return untranslated


def _qualified(attr: str) -> str:
    if attr.startswith(f"{{{CAMUNDA_NS}}}"):
        return f"camunda:{_local(attr)}"
    return _local(attr)


def _lint_messages(root: Any, problems: Problems, collaboration: Collaboration | None = None) -> None:
    """A catch must name its message: POST /api/messages delivers by that name.

    In a collaboration, a message throw, send task or message start event of an executable pool is
    allowed when a message flow joins it to a catch of the same message in another executable pool
    (`Collaboration.routed`); anywhere else they stay refused.
    """
    names = {el.get("id"): (el.get("name") or "").strip() for el in root.iter(_b("message"))}
    pooled = collaboration.elements if collaboration is not None else frozenset()
    if collaboration is not None:
        problems.extend(collaboration.problems)
    for el in root.iter(_b("messageEventDefinition"), _b("receiveTask"), _b("sendTask")):
        if el.tag == _b("messageEventDefinition"):
            owner = el.getparent()
            if owner.tag == _b("sendTask"):
                continue  # checked as the send task itself
            refused = _MESSAGE_REFUSED_IN.get(owner.tag)
            if owner.tag == _b("startEvent") and owner.get("id") not in pooled \
                    and owner.getparent().tag == _b("process"):
                refused = None  # waited for by the started instance, delivered by POST /api/messages
            if refused is not None and owner.get("id") not in (collaboration.routed if collaboration else ()):
                if owner.get("id") in pooled:
                    refused = _COLLABORATION_REFUSED[owner.tag]
                problems.append((owner.get("id"), f"元素 {owner.get('id')}：{refused}", "message"))
                continue
            ref = el.get("messageRef")
        else:
            owner = el
            if el.tag == _b("sendTask"):
                if el.get("id") not in pooled:
                    continue  # refused as an unsupported element
                if collaboration is None or el.get("id") not in collaboration.routed:
                    problems.append((el.get("id"), f"元素 {el.get('id')}：{_COLLABORATION_REFUSED[el.tag]}",
                                     "message"))
                    continue
            ref = _message_ref(el)
        if ref and ref not in names:
            problems.append((owner.get("id"), f"元素 {owner.get('id')}：messageRef 指向的消息“{ref}”不存在"
                                              "（文件中没有这个 id 的 bpmn:message）", "message"))
        elif not ref and (not (owner.get("name") or "").strip()
                          or owner.tag == _b("receiveTask") and owner.find(_b("messageEventDefinition")) is None):
            problems.append((owner.get("id"), f"元素 {owner.get('id')}：未指定消息：请引用一个 bpmn:message"
                                              "（messageRef），或给该元素起名（消息接口按名称投递）", "message"))


def message_name(event_definition: Any, parsed: str | None) -> str:
    """Return the name a message is delivered by (POST /api/messages): its bpmn:message's name.

    As SpiffWorkflow does, an event with no messageRef catches the message named like the event itself;
    a bpmn:message without a name is addressed by its id.
    """
    if parsed:
        return parsed
    ref = event_definition.get("messageRef")
    if ref:
        return str(ref)
    return (event_definition.getparent().get("name") or "").strip()


def _lint_calls(root: Any, problems: Problems) -> None:
    for el in root.iter(_b("callActivity")):
        called = (el.get("calledElement") or "").strip()
        process = el
        while process is not None and process.tag != _b("process"):
            process = process.getparent()
        if not called:
            problems.append((el.get("id"), f"调用活动 {el.get('id')}：未指定被调用的流程（calledElement）",
                             "call_target"))
        elif process is not None and called == process.get("id"):
            problems.append((el.get("id"), f"调用活动 {el.get('id')}：流程不能调用自身", "call_target"))


def _lint_element(el: Any, owner: str | None, problems: Problems,
                  untranslated: set[Any] | None = None, collaboration: Collaboration | None = None) -> None:
    tag = el.tag
    where = f"元素 {owner}" if owner else "文件"
    refused = _REFUSED_ELEMENTS.get(tag)
    if tag == SERVICE_TASK and is_external(el):
        refused = None
        lint_external(el, problems)
    if refused is not None and not (collaboration is not None and tag == _b("sendTask")
                                    and el.get("id") in collaboration.elements):
        # A send task of a collaboration's pool is checked with the message flows (_lint_messages).
        if tag in _LISTENERS and any(el.get(attr) for attr in _DELEGATE_ATTRIBUTES):
            refused = f"{refused}；其中的 Java 委托/表达式本系统不执行，{_USE_EXTERNAL_TASK}"
        problems.append((owner, f"{where}：{refused}", "unsupported"))
    for attr in _DELEGATE_ATTRIBUTES:
        if el.get(_c(attr)) is not None:
            problems.append((owner, f"{where}：使用了 camunda:{attr}（Java 委托/表达式），本系统不执行 Java 代码；"
                                    f"{_USE_EXTERNAL_TASK}", "unsupported"))
    # camunda:asyncBefore / asyncAfter / async are accepted and change nothing: every step runs in the request
    # that causes it, and a step that fails rolls the whole request back (nothing is left half done), which
    # is what an async continuation's own transaction is for in Camunda. Work that must leave the request
    # (a call to another system) is an external task.
    if el.get(_c("resource")) is not None:
        problems.append((owner, f"{where}：不支持外部脚本资源（camunda:resource）", "unsupported"))
    if untranslated and el in untranslated:
        return  # a JUEL expression outside the subset, already reported naming it

    if tag == _c("formField") and el.get("id") == RESERVED_DATA_KEY:
        problems.append((owner, f"{where}：表单字段 id 不能使用系统保留名 {RESERVED_DATA_KEY}", "form"))
    elif tag in (_b("dataObject"), _b("dataObjectReference"), _b("dataInput"), _b("dataOutput")) \
            and RESERVED_DATA_KEY in (el.get("id"), el.get("name")):
        problems.append((owner, f"{where}：数据名不能使用系统保留名 {RESERVED_DATA_KEY}", "reserved"))
    elif tag == _b("scriptTask"):
        _lint_script_task(el, owner, problems)
    elif tag == _b("userTask") and not _split(el.get(_c("candidateGroups"))):
        # The runner gives a task the role of its first candidate group; without one the task lands in
        # no inbox at all, though anyone in its department could complete it through the API. No default
        # is made up (the initiator, "anyone"): who may decide is an access-control choice, and giving an
        # approval to the person who applied is self-approval. Camunda files that only name an assignee
        # (camunda:assignee="demo") are refused the same way: tasks go to roles of a department here.
        problems.append((owner, f"用户任务 {owner}：未设置候选角色（camunda:candidateGroups），"
                                "该任务不会出现在任何人的待办中；本系统不默认交给发起人或任何人办理"
                                "（谁能办理是权限设置，不能自批自审）；请选择办理该任务的角色", "no_candidates"))
    elif tag == _b("conditionExpression"):
        language = el.get("language")
        if language is not None and language.strip().lower() not in ("python", "python3"):
            problems.append((owner, f"{where}：条件表达式语言为 {language}，只支持 python", "expression"))
        _lint_expression(el.text, owner, "条件表达式", problems, "expression")
    elif tag in (_b("timeDate"), _b("timeDuration"), _b("timeCycle")):
        _lint_timer(el, owner, problems)
    elif tag in (_b("loopCondition"), _b("condition"), _b("completionCondition")):
        _lint_expression(el.text, owner, "条件表达式", problems)
    elif tag == _b("multiInstanceLoopCharacteristics"):
        _lint_multi_instance(el, owner, problems)


_MI_UNSUPPORTED_CHILDREN = ("complexBehaviorDefinition",)


# Elements a multi-instance loop may be drawn on, by how messages name them.
_MI_ELEMENTS = {_b("userTask"): "用户任务", _b("subProcess"): "子流程", _b("callActivity"): "调用活动",
                _b("scriptTask"): "脚本任务", _b("task"): "任务", _b("manualTask"): "手工任务"}


def _lint_multi_instance(el: Any, owner: str | None, problems: Problems) -> None:
    """Multi-instance: on user tasks, subprocesses, call activities, script and plain tasks; a plain
    variable as collection, Python for the rest."""
    task = el.getparent()
    kind = _MI_ELEMENTS.get(task.tag)
    if kind is None or (task.get("triggeredByEvent") or "").strip().lower() == "true":
        problems.append((owner, f"元素 {owner}：多实例只支持用户任务（会签、或签）、子流程、调用活动、脚本任务和"
                                "普通/手工任务", "multi_instance"))
        return
    for local in _MI_UNSUPPORTED_CHILDREN:
        if el.find(_b(local)) is not None:
            problems.append((owner, f"{kind} {owner}：多实例不支持 {local}，请用 camunda:collection 与 "
                                    "camunda:elementVariable", "multi_instance"))
    mi = _multi_instance(task)
    assert mi is not None
    _lint_standard_loop_data(el, task, kind, owner, mi, problems)
    if bool(mi["collection"]) == bool(mi["cardinality"]):
        problems.append((owner, f"{kind} {owner}：多实例须且只须设置集合（camunda:collection 或 "
                                "loopDataInputRef）或实例数（loopCardinality）之一", "multi_instance"))
    names = [("集合（camunda:collection）", mi["collection"]),
             ("元素变量（camunda:elementVariable）", mi["element_variable"]),
             ("结果变量（扩展属性 results）", mi["results"]),
             ("输出列表（loopDataOutputRef）", mi["output"]),
             ("输出项（outputDataItem 的 id）", mi["output_item"])]
    names.extend(("结果字段（扩展属性 results_fields）", name) for name in _results_fields(task))
    for label, name in names:
        if name and (not name.isidentifier() or name == RESERVED_DATA_KEY or name.startswith("_")):
            problems.append((owner, f"{kind} {owner}：多实例的{label}须是一个变量名（如 signers），"
                                    f"不能是 {name}", "multi_instance"))
    if mi["collection"] and not mi["element_variable"]:
        problems.append((owner, f"{kind} {owner}：多实例按集合办理时须设置元素变量（camunda:elementVariable 或 "
                                "inputDataItem）",
                         "multi_instance"))
    if mi["cardinality"]:
        _lint_expression(mi["cardinality"], owner, "实例数（loopCardinality）", problems, "multi_instance")
    assignee = task.get(_c("assignee"))
    if task.tag == _b("userTask") and assignee and assignee != mi["element_variable"]:
        problems.append((owner, f"用户任务 {owner}：多实例任务的办理人（camunda:assignee）须写元素变量名"
                                f"“{mi['element_variable'] or ''}”，表示每个实例交由该变量所指用户办理",
                         "multi_instance"))


def _lint_standard_loop_data(el: Any, task: Any, kind: str, owner: str | None, mi: dict[str, Any],
                             problems: Problems) -> None:
    """The standard BPMN loop data (loopDataInputRef / inputDataItem / loopDataOutputRef / outputDataItem)
    is read as our collection / element variable / output list (see _multi_instance); refuse what says
    the same thing twice differently or leaves half of the output pair out."""
    def text(local: str) -> str | None:
        child = el.find(_b(local))
        return ((child.text or "").strip() or None) if child is not None else None

    def item(local: str) -> str | None:
        child = el.find(_b(local))
        return ((child.get("id") or "").strip() or None) if child is not None else None

    collection = (el.get(_c("collection")) or "").strip() or None
    if collection and text("loopDataInputRef") and collection != text("loopDataInputRef"):
        problems.append((owner, f"{kind} {owner}：多实例的集合写了两次（camunda:collection 为 {collection}，"
                                f"loopDataInputRef 为 {text('loopDataInputRef')}），请只保留一个", "multi_instance"))
    variable = el.get(_c("elementVariable")) or None
    if variable and item("inputDataItem") and variable != item("inputDataItem"):
        problems.append((owner, f"{kind} {owner}：多实例的元素变量写了两次（camunda:elementVariable 为 {variable}，"
                                f"inputDataItem 为 {item('inputDataItem')}），请只保留一个", "multi_instance"))
    for local in ("inputDataItem", "outputDataItem"):
        if el.find(_b(local)) is not None and item(local) is None:
            problems.append((owner, f"{kind} {owner}：多实例的 {local} 须有 id（即变量名）", "multi_instance"))
    if el.find(_b("loopDataInputRef")) is not None and text("loopDataInputRef") is None:
        problems.append((owner, f"{kind} {owner}：多实例的 loopDataInputRef 须写集合变量名", "multi_instance"))
    if bool(mi["output"]) != bool(mi["output_item"]):
        problems.append((owner, f"{kind} {owner}：多实例的输出列表（loopDataOutputRef）与输出项（outputDataItem）"
                                "须同时设置：每个实例结束时输出项的值按输入顺序放入输出列表", "multi_instance"))
    if mi["output"] and mi["output"] in (mi["collection"], mi["results"]):
        problems.append((owner, f"{kind} {owner}：多实例的输出列表（loopDataOutputRef）{mi['output']} 须与集合和"
                                "结果变量不同名", "multi_instance"))
    if mi["output_item"] and mi["output_item"] == mi["element_variable"]:
        problems.append((owner, f"{kind} {owner}：多实例的输出项（outputDataItem）{mi['output_item']} 须与元素变量"
                                "不同名", "multi_instance"))


def _results_fields(task: Any) -> tuple[str, ...]:
    """The variables (extension property `results_fields`, comma-separated) each finished instance of a
    multi-instance subprocess, call activity or script task adds to its results entry."""
    for prop in task.iterfind(f"{_b('extensionElements')}/{_c('properties')}/{_c('property')}"):
        if (prop.get("name") or prop.get("id")) == "results_fields":
            return tuple(dict.fromkeys(name.strip() for name in re.split(r"[,，\s]+", prop.get("value") or "")
                                       if name.strip()))
    return ()


def _enclosing_loops(el: Any) -> Iterator[Any]:
    """Yield the multi-instance embedded subprocesses around an element, innermost first."""
    node = el.getparent()
    while node is not None and node.tag != _b("process"):
        if node.tag == _b("subProcess") and node.find(_b("multiInstanceLoopCharacteristics")) is not None:
            yield node
        node = node.getparent()


def _loop_variables(el: Any) -> set[str]:
    """The element variables of the multi-instance subprocesses around an element."""
    return {name for loop in _enclosing_loops(el)
            if (name := loop.find(_b("multiInstanceLoopCharacteristics")).get(_c("elementVariable")))}


def _assignee_from(task: Any) -> dict[str, Any] | None:
    """Who a user task that is not multi-instance is designated to, from its camunda:assignee.

    Inside a multi-instance subprocess, the loop's element variable: each instance's task goes to the
    person it names (as a 会签 instance does). Otherwise, on a task with candidate roles (Camunda 7
    parity, issue 16): `${approver}` (or `${initiator}`, see camunda:initiator) designates the task to
    the person the variable names when it opens, a literal `zhangsan` to that user; either way the
    person must hold one of the task's candidate roles: the variable only narrows the role to one
    person. A task without candidate roles is refused (no_candidates), whatever its assignee.
    """
    assignee = (task.get(_c("assignee")) or "").strip()
    if not assignee or task.find(_b("multiInstanceLoopCharacteristics")) is not None:
        return None
    variable = juel.bare_variable(assignee) if juel.is_juel(assignee) else None
    for loop in _enclosing_loops(task):
        mi = _multi_instance(loop)
        if mi is not None and mi["element_variable"] in (assignee, variable):
            return {"assignee_variable": mi["element_variable"], "collection": mi["collection"],
                    "loop": loop.get("id")}
    if not _split(task.get(_c("candidateGroups"))):
        return None
    if variable:
        return {"assignee_variable": variable, "collection": None, "loop": None}
    if juel.is_juel(assignee):
        return None  # refused by translate_juel, quoting it
    return {"assignee_username": assignee, "collection": None, "loop": None}


def process_initiator(process: Any) -> str | None:
    """The camunda:initiator of a process's none start event (the variable given the starter's username)."""
    for start in process.iterfind(_b("startEvent")):
        name = (start.get(_c("initiator")) or "").strip()
        if name.isidentifier() and len(start) == sum(1 for child in start if child.tag in (
                _b("outgoing"), _b("extensionElements"), _b("documentation"))):
            return name
    return None


def _multi_instance(task: Any) -> dict[str, Any] | None:
    """Read an element's multi-instance loop as the runner and the parser use it (None: not one)."""
    el = task.find(_b("multiInstanceLoopCharacteristics"))
    if el is None:
        return None
    cardinality = el.find(_b("loopCardinality"))
    condition = el.find(_b("completionCondition"))
    element_variable = el.get(_c("elementVariable")) or None
    configured = None
    for prop in task.iterfind(f"{_b('extensionElements')}/{_c('properties')}/{_c('property')}"):
        if (prop.get("name") or prop.get("id")) == "results":
            configured = prop.get("value") or None
    # The standard BPMN form: loopDataInputRef names the collection variable, inputDataItem's id the
    # element variable (as SpiffWorkflow reads them: its `name` is a label such as "input item"),
    # loopDataOutputRef the output list and outputDataItem's id the value each instance leaves for it.
    refs = {local: el.find(_b(local)) for local in ("loopDataInputRef", "loopDataOutputRef")}
    items = {local: el.find(_b(local)) for local in ("inputDataItem", "outputDataItem")}
    ref_text = {k: ((v.text or "").strip() or None) if v is not None else None for k, v in refs.items()}
    item_id = {k: ((v.get("id") or "").strip() or None) if v is not None else None for k, v in items.items()}
    element_variable = element_variable or item_id["inputDataItem"]
    assignee = task.get(_c("assignee")) or None
    return {
        "sequential": (el.get("isSequential") or "").strip().lower() == "true",
        "collection": (el.get(_c("collection")) or "").strip() or ref_text["loopDataInputRef"],
        "element_variable": element_variable,
        "cardinality": (cardinality.text or "").strip() or None if cardinality is not None else None,
        "condition": (condition.text or "").strip() or None if condition is not None else None,
        "results": results_variable(task.get("id") or "", configured),
        "assignee_variable": assignee if assignee and assignee == element_variable else None,
        "output": ref_text["loopDataOutputRef"],
        "output_item": item_id["outputDataItem"],
    }


def _lint_script_task(el: Any, owner: str | None, problems: Problems) -> None:
    script_format = el.get("scriptFormat")
    if script_format is not None and script_format.strip().lower() not in ("python", "python3"):
        problems.append((owner, f"脚本任务 {owner}：scriptFormat 为 {script_format}，只支持 python", "script"))
    script = el.find(_b("script"))
    if script is None or not (script.text or "").strip():
        if el.get(_c("resource")) is None:
            problems.append((owner, f"脚本任务 {owner}：没有脚本内容", "script"))
        return
    try:
        compile_script(script.text)
    except ScriptError as exc:
        problems.append((owner, f"脚本任务 {owner}：脚本{exc.detail_zh}", "script"))
        return
    if RESERVED_DATA_KEY in assigned_names(script.text):
        problems.append((owner, f"脚本任务 {owner}：变量名 {RESERVED_DATA_KEY} 为系统保留，不能赋值", "script"))


def _lint_expression(text: str | None, owner: str | None, kind: str, problems: Problems,
                     code: str = "expression") -> None:
    if text is None or not text.strip():
        return
    try:
        compile_expression(text)
    except ScriptError as exc:
        problems.append((owner, f"元素 {owner}：{kind}{exc.detail_zh}", code))


def _lint_timer(el: Any, owner: str | None, problems: Problems) -> None:
    text = (el.text or "").strip()
    if not text:
        problems.append((owner, f"定时器 {owner}：没有时间表达式", "timer"))
        return
    if _ISO_LITERAL.match(text):
        # Expressions are Python: an unquoted P5D is a variable name, 2025-01-01 a syntax error.
        problems.append((owner, f"定时器 {owner}：表达式 {text} 按 Python 求值，"
                                f"ISO 8601 字面量请加引号写成 \"'{text}'\"，或引用一个变量", "timer"))
        return
    _lint_expression(text, owner, "定时器表达式", problems, "timer")


def _lint_cycles(container: Any, problems: Problems) -> None:
    """Accept sequence flows drawn back (退回 as an arrow) when every lap waits somewhere.

    The engine prunes finished laps when it saves an instance, so a cycle costs the same at lap 1,000
    as at lap 1. Pruning happens between steps, never inside one: a cycle a token could go round
    without reaching a user task, a catch event or a subprocess (all of which wait) would run within
    one step without end, so such a cycle is refused, naming its elements. So is an inclusive gateway
    that merges branches on a cycle: SpiffWorkflow's inclusive join looks for its branches only up to
    the first earlier occurrence of itself in the tree, so from the second lap on it would fire before
    its branches are done.
    """
    nodes = [child.get("id") for child in container
             if isinstance(child.tag, str) and child.tag.startswith(f"{{{BPMN_NS}}}")
             and child.tag not in _NOT_FLOW_NODES and child.get("id")]
    waits = {child.get("id") for child in container if _waits(child)}
    known = set(nodes) - waits
    all_edges: dict[str, list[str]] = {}
    incoming: dict[str, int] = {}
    for child in container:
        if not isinstance(child.tag, str):
            continue
        if child.tag == _b("sequenceFlow"):
            source, target = child.get("sourceRef"), child.get("targetRef")
            incoming[target] = incoming.get(target, 0) + 1
        elif child.tag == _b("boundaryEvent"):
            # Leaving through a boundary event and flowing back is a loop too.
            source, target = child.get("attachedToRef"), child.get("id")
        else:
            continue
        if source in nodes and target in nodes:
            all_edges.setdefault(source, []).append(target)
    edges = {source: [t for t in targets if t in known]
             for source, targets in all_edges.items() if source in known}
    order = {node: i for i, node in enumerate(nodes)}
    kind = "流程" if container.tag == _b("process") else "子流程"
    inclusive = {child.get("id") for child in container if child.tag == _b("inclusiveGateway")}
    for component in _strongly_connected(nodes, all_edges):
        for gateway in sorted(set(component) & inclusive, key=order.__getitem__):
            if incoming.get(gateway, 0) > 1:
                problems.append((gateway, f"{kind} {container.get('id')} 中的包容网关 {gateway} 在回路中汇聚分支，"
                                          "引擎无法判断本轮的分支是否都已完成：回路中请改用并行网关或排他网关汇聚，"
                                          "或改用带 standardLoopCharacteristics 的循环子流程", "loop"))
    for component in _strongly_connected([n for n in nodes if n in known], edges):
        ids = sorted(component, key=order.__getitem__)
        path = " → ".join([*ids, ids[0]])
        problems.append((ids[0], f"{kind} {container.get('id')} 中的顺序流构成循环（{path}），"
                                 "但这一圈没有需要等待的步骤（用户任务、定时或消息等中间事件、子流程），"
                                 "会在一次办理中无休止地运行：请在回路中加入用户任务，"
                                 "或改用带 standardLoopCharacteristics 的循环子流程", "loop"))


# Elements a token stops at before a lap can go round again (a subprocess when one of these is inside).
# A call activity does not count: its callee is another file, and a callee that never waits would run the
# laps in one request without end.
_WAITING_NODES = {_b(name) for name in ("userTask", "manualTask", "intermediateCatchEvent", "receiveTask")}


def _waits(element: Any) -> bool:
    if not isinstance(element.tag, str):
        return False
    if element.tag in _WAITING_NODES or is_external(element):
        return True
    return element.tag in _CONTAINERS and any(
        isinstance(inner.tag, str) and (inner.tag in _WAITING_NODES or is_external(inner)) for inner in element.iter())


def _strongly_connected(nodes: list[str], edges: dict[str, list[str]]) -> list[list[str]]:
    """Return the cyclic strongly connected components (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work: list[tuple[str, Iterator[str]]] = [(root, iter(edges.get(root, ())))]
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(edges.get(succ, ()))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    found.append(component)
    return found


# --------------------------------------------------------------------------------------------
# Metadata extraction


def _split(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _lanes(process: Any) -> dict[str, str]:
    lanes: dict[str, str] = {}
    for ref in process.iter(_b("flowNodeRef")):
        lane = ref.getparent()
        if ref.text:
            lanes[ref.text.strip()] = lane.get("name") or lane.get("id")
    return lanes


def _lane_of(task: Any, lanes: dict[str, str]) -> str | None:
    node = task
    # A task inside an embedded subprocess belongs to its own lane if it has one, else the subprocess's.
    while node is not None:
        lane = lanes.get(node.get("id") or "")
        if lane is not None:
            return lane
        node = node.getparent()
    return None


def _form_field(el: Any) -> FormField:
    constraints: dict[str, str] = {}
    properties: dict[str, str] = {}
    options: list[tuple[str, str]] = []
    for child in el:
        if child.tag == _c("validation"):
            for constraint in child.iter(_c("constraint")):
                constraints[constraint.get("name", "")] = constraint.get("config") or ""
        elif child.tag == _c("properties"):
            for prop in child.iter(_c("property")):
                properties[prop.get("id") or prop.get("name") or ""] = prop.get("value") or ""
        elif child.tag == _c("value"):
            options.append((child.get("id", ""), child.get("name") or child.get("id", "")))
    required = "required" in constraints and constraints["required"].strip().lower() != "false"
    return FormField(
        id=el.get("id", ""),
        label=el.get("label") or el.get("id", ""),
        type=el.get("type") or "string",
        required=required,
        options=tuple(options),
        default=el.get("defaultValue"),
        constraints=constraints,
        properties=properties,
    )


def _user_task(el: Any, lanes: dict[str, str]) -> UserTaskMeta:
    properties: dict[str, str] = {}
    for prop in el.iterfind(f"{_b('extensionElements')}/{_c('properties')}/{_c('property')}"):
        properties[prop.get("name") or prop.get("id") or ""] = prop.get("value") or ""
    form = tuple(_form_field(field) for field in
                 el.iterfind(f"{_b('extensionElements')}/{_c('formData')}/{_c('formField')}"))
    return UserTaskMeta(
        task_spec=el.get("id"),
        name=el.get("name") or el.get("id"),
        candidate_groups=_split(el.get(_c("candidateGroups"))),
        candidate_users=_split(el.get(_c("candidateUsers"))),
        assignee=el.get(_c("assignee")) or None,
        due_date=el.get(_c("dueDate")) or None,
        priority=el.get(_c("priority")) or None,
        lane=_lane_of(el, lanes),
        properties=properties,
        form=form,
        multi_instance=_multi_instance(el),
        assignee_from=_assignee_from(el),
    )


# --------------------------------------------------------------------------------------------
# Entry points


def _main_processes(root: Any) -> list[Any]:
    """Return the file's executable processes that no call activity of the file calls (the one it starts)."""
    local_calls = {(el.get("calledElement") or "").strip() for el in root.iter(_b("callActivity"))}
    return [p for p in root.iterfind(_b("process"))
            if p.get("isExecutable", "true") == "true" and p.get("id") not in local_calls]


# --------------------------------------------------------------------------------------------
# Collaborations: several executable pools run as one instance


@dataclass(frozen=True)
class Collaboration:
    """A file's bpmn:collaboration whose participants hold all of its executable processes (two or more).

    One deployed definition runs them together: an instance starts every pool with a plain (or timer)
    start event, and a pool whose start events all catch messages when another pool sends one of them.
    Messages thrown in one pool reach the catches of another inside the same instance, by message name,
    along the message flows drawn between them.
    """

    key: str  # the collaboration's id: the process key it deploys under
    name: str  # the collaboration's name, else its first executable pool's, else the key
    pools: tuple[str, ...]  # the executable processes, in participant order
    elements: frozenset[str]  # ids of every element inside those pools
    routed: frozenset[str]  # throws, send tasks and message starts a message flow between pools covers
    internal: tuple[str, ...]  # the names of the messages those flows carry
    problems: tuple[tuple[str | None, str, str], ...]


_THROWS = {_b("intermediateThrowEvent"), _b("endEvent"), _b("sendTask")}
_CATCHES = {_b("intermediateCatchEvent"), _b("startEvent"), _b("boundaryEvent"), _b("receiveTask")}


def _message_ref(el: Any) -> str | None:
    """Return the id of the bpmn:message an event or a send/receive task throws or catches (None: none)."""
    if el.tag in (_b("sendTask"), _b("receiveTask")) and el.get("messageRef"):
        return str(el.get("messageRef"))
    definition = el.find(_b("messageEventDefinition"))
    return definition.get("messageRef") if definition is not None else None


def collaboration_of(root: Any) -> Collaboration | None:
    """Return the collaboration a file with several executable processes runs as one instance (None: not one)."""
    processes = _main_processes(root)
    if len(processes) < 2:
        return None
    ids = [p.get("id") for p in processes]
    for collab in root.iterfind(_b("collaboration")):
        refs = [part.get("processRef") for part in collab.iterfind(_b("participant"))]
        if all(i in refs for i in ids):
            pools = tuple(dict.fromkeys(r for r in refs if r in ids))
            return _route(root, collab, pools, {p.get("id"): p for p in processes})
    return None


def _route(root: Any, collab: Any, pools: tuple[str, ...], processes: dict[str, Any]) -> Collaboration:
    names = {el.get("id"): (el.get("name") or "").strip() for el in root.iter(_b("message"))}
    pool_of: dict[str, str] = {}
    by_id: dict[str, Any] = {}
    for pool in pools:
        for el in processes[pool].iter():
            if isinstance(el.tag, str) and el.get("id"):
                pool_of[el.get("id")] = pool
                by_id[el.get("id")] = el
    participants = {part.get("id"): part.get("processRef") for part in collab.iterfind(_b("participant"))}

    def message(el: Any) -> str | None:
        return names.get(_message_ref(el) or "") or None

    def is_catch(el: Any) -> bool:
        return el.tag in _CATCHES and (el.tag == _b("receiveTask") or el.find(_b("messageEventDefinition")) is not None)

    routed: set[str] = set()
    internal: set[str] = set()
    problems: list[tuple[str | None, str, str]] = []
    for flow in collab.iterfind(_b("messageFlow")):
        source_id, target_id = flow.get("sourceRef"), flow.get("targetRef")
        source = by_id.get(source_id or "")
        if source is None or source.tag not in _THROWS or message(source) is None:
            continue
        if target_id in participants:  # drawn to the pool: whatever in it waits for the message
            target_pool = participants[target_id]
            candidates = [el for el in by_id.values() if pool_of[el.get("id")] == target_pool and is_catch(el)]
        else:
            target = by_id.get(target_id or "")
            target_pool = pool_of.get(target_id or "")
            candidates = [target] if target is not None and is_catch(target) else []
        if target_pool is None or target_pool not in pools or target_pool == pool_of[source_id]:
            continue
        matching = [el for el in candidates if message(el) == message(source)]
        if not matching:
            if target_id not in participants and candidates and message(candidates[0]):
                problems.append((source_id, f"元素 {source_id}：消息流 {flow.get('id')} 连到的 {target_id} 等待消息"
                                            f"“{message(candidates[0])}”，而 {source_id} 发送的是“{message(source)}”："
                                            "消息按名称投递，两端须引用同一条消息（messageRef）", "message"))
            continue
        routed.add(source_id)
        routed.update(el.get("id") for el in matching if el.tag == _b("startEvent"))
        internal.add(str(message(source)))
    if collab.find(_b("messageFlow")) is None:
        # No message flow drawn at all (SpiffWorkflow's own collaboration files): as SpiffWorkflow does, a
        # message goes by its name to the catches of that message in the other executable pools.
        for source in by_id.values():
            if source.tag not in _THROWS or message(source) is None:
                continue
            matching = [el for el in by_id.values() if is_catch(el) and message(el) == message(source)
                        and pool_of[el.get("id")] != pool_of[source.get("id")]]
            if matching:
                routed.add(source.get("id"))
                routed.update(el.get("id") for el in matching if el.tag == _b("startEvent"))
                internal.add(str(message(source)))
    starting = [pool for pool in pools
                if any(start.find(_b("messageEventDefinition")) is None
                       for start in processes[pool].iterfind(_b("startEvent")))]
    if not starting:
        problems.append((collab.get("id"), f"协作 {collab.get('id')} 的可执行池都由消息启动事件开始，"
                                           "没有池能先启动：请至少让一个池以普通启动事件开始", "message"))
    key = str(collab.get("id"))
    name = (collab.get("name") or "").strip() or (processes[pools[0]].get("name") or "").strip() or key
    return Collaboration(key=key, name=name, pools=pools, elements=frozenset(pool_of), routed=frozenset(routed),
                         internal=tuple(sorted(internal)), problems=tuple(problems))


def _collaboration_spec(parser: Any, collaboration: Collaboration, require_called: bool
                        ) -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]:
    """BpmnParser.get_collaboration for the executable pools only, with message-started pools wired once."""
    spec = BpmnProcessSpec(collaboration.key)
    subprocess_specs: dict[str, BpmnProcessSpec] = {}
    participant_type = parser._get_parser_class(full_tag("callActivity"))[1]
    for pool in collaboration.pools:
        pool_spec = parser.get_spec(pool)
        subprocess_specs[pool] = pool_spec
        subprocess_specs.update(parser.get_subprocess_specs(pool, require_call_activity_specs=require_called))
        participant = participant_type(spec, pool, pool)
        participant.connect(spec.end)
        starts = pool_spec.bpmn_start_events
        if any(not isinstance(start.event_definition, MessageEventDefinition) for start in starts) or not starts:
            spec.start.connect(participant)
        else:
            # Started on its message (BpmnStartTask.trigger_wf, from the event manager): the start task is
            # its input but it is not one of the start task's outputs. Wired here once, so trigger_wf never
            # rewires the cached spec shared by every instance (it connects a pool it finds unconnected,
            # and every later instance would then start that pool at once instead of on its message).
            participant._inputs.append(spec.start.name)
            spec.start.trigger_specs.append(pool)
    return spec, subprocess_specs


def deployed_identity(root: Any) -> tuple[str, str | None] | None:
    """Return (process key, name) a file deploys under: its executable process's or its collaboration's."""
    collaboration = collaboration_of(root)
    if collaboration is not None:
        return collaboration.key, collaboration.name
    process = executable_process(root)
    if process is None:
        return None
    return str(process.get("id")), process.get("name") or None


def running_pools(root: Any) -> list[Any]:
    """Return the process elements an instance of the file runs at its top: the executable process, or every
    executable pool of its collaboration (empty when the file deploys neither)."""
    collaboration = collaboration_of(root)
    if collaboration is not None:
        processes = {p.get("id"): p for p in root.iterfind(_b("process"))}
        return [processes[pool] for pool in collaboration.pools]
    process = executable_process(root)
    return [process] if process is not None else []


def called_processes(root: Any) -> list[str]:
    """Return the process keys the file's call activities name that the file does not define itself."""
    own = {p.get("id") for p in root.iterfind(_b("process"))}
    keys: list[str] = []
    for el in root.iter(_b("callActivity")):
        key = (el.get("calledElement") or "").strip()
        if key and key not in own and key not in keys:
            keys.append(key)
    return keys


def compile_definition(xml: bytes, called: dict[str, bytes] | None = None
                       ) -> tuple[DeployedProcess, BpmnProcessSpec, dict[str, BpmnProcessSpec]]:
    """Lint, describe and parse a BPMN file; raise BpmnRejected listing every problem.

    `called` holds the BPMN of every deployed process its call activities reach (directly or through a
    callee), by process key: the runner pins them at deploy. None only lints the file on its own (a
    designer's draft): calls to other files are then neither checked nor compiled.
    """
    root = _parse_xml(xml)
    problems = _lint(root)
    processes = _main_processes(root)
    collaboration = collaboration_of(root)
    if len(processes) > 1 and collaboration is None:
        problems.insert(0, (None, "文件中必须恰好有一个可执行流程（isExecutable=\"true\"），或把多个可执行流程画成"
                                  f"同一协作（bpmn:collaboration）中的池：实际为 {len(processes)} 个，且不同属一个协作",
                            "parse"))
    elif not processes:
        problems.insert(0, (None, "文件中必须恰好有一个可执行流程（isExecutable=\"true\"，"
                                  f"被本文件调用活动调用的流程除外），实际为 {len(processes)} 个", "parse"))
    external = called_processes(root)
    if called is not None:
        for el in root.iter(_b("callActivity")):
            key = (el.get("calledElement") or "").strip()
            if key in external and key not in called:
                problems.append((el.get("id"), f"调用活动 {el.get('id')}：被调用的流程“{key}”尚未部署，"
                                               "请先部署该流程", "call_target"))
    if problems:
        raise BpmnRejected(problems)
    process = processes[0]
    process_key = collaboration.key if collaboration is not None else process.get("id")
    callee_roots = [_parse_xml(called[key]) for key in sorted(called or {})]
    for callee_root in callee_roots:
        translate_juel(callee_root)  # linted at its own deploy: the same rewrite, nothing left to report

    parser = GovflowParser(validator=_bpmn_validator())
    try:
        parser.add_bpmn_xml(root)
        for callee_root in callee_roots:
            parser.add_bpmn_xml(callee_root)
        if collaboration is not None:
            spec, subprocess_specs = _collaboration_spec(parser, collaboration, called is not None)
        else:
            spec = parser.get_spec(process_key)
            subprocess_specs = parser.get_subprocess_specs(process_key,
                                                           require_call_activity_specs=called is not None)
        subprocess_specs = {name: sp for name, sp in subprocess_specs.items() if sp is not None}
    except ValidationException as exc:
        element = getattr(exc, "id", None) or None
        where = f"元素 {element}" if element else "文件"
        line = getattr(exc, "line_number", "")
        detail = "；".join(str(part) for part in [*exc.args[:1], *exc.notes])
        at_line = f"（第 {line} 行）" if line else ""
        raise BpmnRejected([(element, f"{where}：流程解析失败{at_line}：{detail}", "parse")]) from exc
    except (NotImplementedError, KeyError, AttributeError, TypeError, ValueError) as exc:
        # SpiffWorkflow's parser raises these raw on some malformed input.
        raise BpmnRejected([(None, f"流程解析失败：{type(exc).__name__}: {exc}", "parse")]) from exc

    # The processes that run in this instance: its own and those its call activities reach.
    elements = {p.get("id"): p for r in [*callee_roots, root] for p in r.iterfind(_b("process"))}
    tops = [elements[pool] for pool in collaboration.pools] if collaboration is not None else [process]
    top_ids = {top.get("id") for top in tops}
    running = [*tops, *(elements[name] for name in subprocess_specs if name in elements and name not in top_ids)]
    user_tasks: dict[str, UserTaskMeta] = {}
    conflicts: Problems = []
    for proc in running:
        for task_spec, meta in user_task_metas(proc).items():
            # Task rows and forms are keyed by element id: a called process's user task must not share
            # an id with a different task of the caller.
            if task_spec in user_tasks and user_tasks[task_spec] != meta:
                conflicts.append((task_spec, f"用户任务 {task_spec}：被调用的流程“{proc.get('id')}”中有同 id "
                                             "但不同的用户任务，请修改其中一个的 id", "call_target"))
            user_tasks.setdefault(task_spec, meta)
    if conflicts:
        raise BpmnRejected(conflicts)
    deployed = DeployedProcess(
        process_key=process_key,
        name=collaboration.name if collaboration is not None else process.get("name") or process_key,
        content_hash=hashlib.sha256(xml).hexdigest(),
        user_tasks=user_tasks,
        has_timers=any(next(p.iter(_b("timerEventDefinition")), None) is not None for p in running),
        called=tuple(external),
        has_messages=any(next(p.iter(_b("messageEventDefinition"), _b("receiveTask")), None) is not None
                         for p in running),
        internal_messages=collaboration.internal if collaboration is not None else (),
        has_external_tasks=any(is_external(el) for p in running for el in p.iter(SERVICE_TASK)),
        initiator=process_initiator(tops[0]) if len(tops) == 1 else None,
    )
    return deployed, spec, subprocess_specs


def describe(xml: bytes, called: dict[str, bytes] | None = None) -> DeployedProcess:
    """Lint and describe a BPMN file; raise BpmnRejected listing every problem."""
    return compile_definition(xml, called)[0]


def parse_xml(xml: bytes) -> Any:
    """Parse BPMN XML with the hardened parser (no DTD, entities or network); raise BpmnRejected."""
    return _parse_xml(xml)


def executable_process(root: Any) -> Any | None:
    """Return the file's only executable process element, or None when there is not exactly one."""
    processes = _main_processes(root)
    return processes[0] if len(processes) == 1 else None


def user_task_metas(process: Any) -> dict[str, UserTaskMeta]:
    """Read the user tasks of a process element as the runner stores them (no lint, no parse)."""
    lanes = _lanes(process)
    return {meta.task_spec: meta for meta in (_user_task(el, lanes) for el in process.iter(_b("userTask")))
            if meta.task_spec}
