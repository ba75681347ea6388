"""What an instance's diagram needs from the engine: the BPMN graph and the steps its tree still shows.

The tree is pruned before every save (finished loop iterations and finished subprocesses go); what
pruning removed is kept as a bounded trail (app.engine.core.TRAIL_ATTR). Instances saved before the
trail existed lack their older rounds: app.tasks.diagram completes them from the task rows and the graph.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.util.task import TaskState

from app.engine.core import CAME_FROM_ATTR, TRAIL_ATTR, came_from

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_CONTAINERS = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})
# Flow nodes a token passes without waiting for a person or an outside event: reached once the
# step before them completed (their outgoing flows are unconditional unless they are gateways).
PASS_THROUGH = frozenset({
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "complexGateway", "scriptTask",
    "endEvent", "intermediateThrowEvent", "task", "manualTask", "businessRuleTask",
})
GATEWAYS = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway", "complexGateway",
                      "eventBasedGateway"})
_NOT_NODES = frozenset({"sequenceFlow", "laneSet", "lane", "documentation", "extensionElements",
                        "textAnnotation",
                        "association", "dataObject", "dataObjectReference", "dataStoreReference",
                        "ioSpecification", "property", "dataInputAssociation", "dataOutputAssociation",
                        "multiInstanceLoopCharacteristics", "standardLoopCharacteristics", "incoming",
                        "outgoing", "conditionExpression", "script", "flowNodeRef", "childLaneSet"})


@dataclass(frozen=True)
class Node:
    """A flow node of the BPMN file."""

    id: str
    kind: str  # the BPMN element's local name: userTask, exclusiveGateway, endEvent, subProcess, ...
    name: str
    scope: str  # the id of the process or subprocess that holds it
    attached_to: str | None = None  # boundary events: the activity they sit on
    multi_instance: bool = False  # a multi-instance activity: some instances may finish while others wait


@dataclass
class Graph:
    """The nodes and sequence flows of a deployed BPMN file."""

    nodes: dict[str, Node] = field(default_factory=dict)
    flows: dict[str, tuple[str, str]] = field(default_factory=dict)  # flow id -> (source, target)
    outgoing: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # node -> [(flow id, target)]
    children: dict[str, list[str]] = field(default_factory=dict)  # scope -> node ids directly inside


@dataclass
class TreeProgress:
    """What the restored tree (and the trail of what was pruned) shows: completed and waiting nodes, nodes
    reached and then withdrawn (cancelled), and the (source, target) steps taken."""

    completed: set[str] = field(default_factory=set)
    active: set[str] = field(default_factory=set)
    withdrawn: set[str] = field(default_factory=set)
    steps: set[tuple[str, str]] = field(default_factory=set)


_graphs: dict[str, Graph] = {}
_graphs_lock = threading.Lock()


def graph(content_hash: str, xml: bytes | Any) -> Graph:
    """Return the graph of a deployed version (parsed once: definitions never change).

    `xml` may be a loader: the bytes are then read only on a cache miss.
    """
    cached = _graphs.get(content_hash)
    if cached is not None:
        return cached
    built = _build(xml() if callable(xml) else xml)
    with _graphs_lock:
        return _graphs.setdefault(content_hash, built)


def _build(xml: bytes) -> Graph:
    # The file was linted at deploy; still parsed without entities, DTDs or network.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                             dtd_validation=False)
    root = etree.fromstring(xml, parser)
    result = Graph()
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        _walk(process, str(process.get("id")), result)
    return result


def _walk(container: Any, scope: str, result: Graph) -> None:
    result.children.setdefault(scope, [])
    for el in container:
        if not isinstance(el.tag, str) or not el.tag.startswith(f"{{{BPMN_NS}}}"):
            continue
        kind = el.tag.rsplit("}", 1)[-1]
        el_id = el.get("id")
        if not el_id:
            continue
        if kind == "sequenceFlow":
            source, target = str(el.get("sourceRef")), str(el.get("targetRef"))
            result.flows[el_id] = (source, target)
            result.outgoing.setdefault(source, []).append((el_id, target))
            continue
        if kind in _NOT_NODES:
            continue
        name = (el.get("name") or "").strip()
        result.nodes[el_id] = Node(el_id, kind, name, scope, el.get("attachedToRef"),
                                   el.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics") is not None)
        result.children[scope].append(el_id)
        if kind in _CONTAINERS:
            _walk(el, el_id, result)


def tree_progress(workflow: Any, known: dict[str, Node]) -> TreeProgress:
    """Read the completed and waiting BPMN nodes off a restored workflow (subprocesses included).

    Engine-internal tasks (the process's Start, EndJoin, End, a loop's iteration wrapper) are skipped:
    a step is recorded between the nearest BPMN ancestors, so a flow behind a boundary-event split
    still maps to its sequence flow.
    """
    result = TreeProgress()
    # What earlier saves pruned (finished rounds and subprocesses), as the engine recorded it then.
    trail = getattr(workflow, TRAIL_ATTR, None) or {}
    result.completed.update(e for e in trail.get("reached", ()) if e in known)
    result.withdrawn.update(e for e in trail.get("withdrawn", ()) if e in known)
    result.steps.update((a, b) for a, b in trail.get("steps", ()) if a in known and b in known)
    for task in workflow.get_tasks():
        element = _element(task, known)
        if element is None:
            continue
        parent = task.parent
        while parent is not None and _element(parent, known) is None:
            parent = parent.parent
        came = parent is not None and parent.has_state(TaskState.COMPLETED)
        source = _element(parent, known) if came else None
        if CAME_FROM_ATTR in task.internal_data:  # pruning grafted it onto an older ancestor
            source = came_from(task)
            came = source is not None
        if task.has_state(TaskState.COMPLETED):
            result.completed.add(element)
        elif task.has_state(TaskState.READY | TaskState.STARTED | TaskState.WAITING):
            # A boundary event waits beside its activity for as long as it runs: not a step reached.
            if known[element].kind == "boundaryEvent":
                continue
            result.active.add(element)
        elif task.has_state(TaskState.CANCELLED) and came:
            # Reached, then withdrawn: an activity a boundary timer interrupted, a task of a withdrawn case.
            result.withdrawn.add(element)
        else:
            continue  # predicted only (future, likely, maybe), or cancelled before the token got there
        if source is not None and source != element:
            result.steps.add((source, element))
    return result


def _element(task: Any, known: dict[str, Node]) -> str | None:
    element = getattr(task.task_spec, "bpmn_id", None)
    return element if element in known else None
