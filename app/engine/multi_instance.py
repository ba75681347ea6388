"""Multi-instance (会签 / 或签 / N-of-M, per item) with our semantics on top of SpiffWorkflow's specs.

The same classes wrap every element a loop may be drawn on (app/engine/bpmn.py parser overrides): user
tasks, embedded subprocesses (the whole subprocess once per item: "per signer, several steps"), call
activities, script tasks and plain/manual tasks.

SpiffWorkflow's Camunda multi-instance classes rewrite the shared task spec the first time they run
(the collection becomes input and output at run time), so one instance can break the cached spec of
the next, and they write the element variable back into the collection, dropping what each person
submitted. These classes are configured once at parse time and never change afterwards:

- `camunda:collection="signers"`: a process variable holding a list; one instance per item, the item
  in `camunda:elementVariable` (in that instance's data only);
- `loopCardinality`: a Python expression giving the number of instances (item: the index);
- `completionCondition`: a Python expression evaluated after each instance completes, with
  `nrOfInstances`, `nrOfCompletedInstances`, `nrOfActiveInstances` and the results so far besides the
  completed instance's data; when true the instances still open are withdrawn (cancelled);
- each completed instance appends one entry to the results list (variable named by the extension
  property `results`, default `<element id>_results`): the element variable, `index` (position in the
  collection) and the instance's form fields as submitted (for a user task) or the variables named in
  the extension property `results_fields` (comma-separated; a subprocess, call activity or script
  task: what the instance's subprocess / called process / script left). The process after the task
  reads the list; the instance's own variables (element variable, form fields, whatever its
  subprocess set) do not leak into the parent;
- at most MAX_INSTANCES instances, counting those of enclosing multi-instance subprocesses and call
  activities (10 signers × 30 items is 300): a deploy-time diagram cannot make one step open, or
  one instance hold, unbounded work.

The standard BPMN loop data is read the same way (app/engine/bpmn.py `_multi_instance`):
`loopDataInputRef` names the collection variable, `inputDataItem`'s id the element variable;
`loopDataOutputRef` + `outputDataItem` (both or neither) add an output list besides the results list:
one position per instance in input order, holding the value the instance left in the output item
(None when it left none or was withdrawn by the completion condition); the output item's value also
goes into the instance's results entry.
"""

from __future__ import annotations

import re
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.task_spec import MultiInstanceTaskConverter
from SpiffWorkflow.bpmn.specs.defaults import ParallelMultiInstanceTask, SequentialMultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from app.engine.errors import ScriptError

# Bounds the number of instances one multi-instance task may open (inboxes, state size).
MAX_INSTANCES = 200


def results_variable(bpmn_id: str, configured: str | None) -> str:
    """Return the name of the variable collecting the instances' results.

    Default `<element id>_results`; an id that makes no plain variable name that way (modelers'
    generated ids such as `_e4d92d47-c77a-…`) gives `results_<id with - and . as _>`, so a loop the
    designer gave no name is never refused for the name made up for it.
    """
    if configured:
        return configured
    name = f"{bpmn_id}_results"
    if name.isidentifier() and not name.startswith("_"):
        return name
    return "results_" + (re.sub(r"\W+", "_", bpmn_id).strip("_") or "loop")


class _GovflowMultiInstance:
    """What parallel and sequential multi-instance tasks of ours share (mixed in before SpiffWorkflow's)."""

    results: str
    output_fields: tuple[str, ...]
    cardinality: str | None
    data_input: Any
    input_item: Any
    data_output: Any
    output_item: Any
    condition: str | None
    bpmn_id: str

    def _init_results(self, my_task: Any) -> None:
        my_task.data[self.results] = []
        my_task.internal_data["merged"] = []
        if self.data_input is not None:
            name = self.data_input.bpmn_id
            if name not in my_task.data:
                raise ScriptError(f"多实例任务缺少流程变量“{name}”（应为列表）", element_id=self.bpmn_id)
            value = my_task.data[name]
            if not isinstance(value, list):
                raise ScriptError(f"流程变量“{name}”必须是列表，实际为 {type(value).__name__}",
                                  element_id=self.bpmn_id)
            count = len(value)
        else:
            count = my_task.workflow.script_engine.evaluate(my_task, self.cardinality)
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise ScriptError(f"多实例数量（loopCardinality）必须是非负整数，实际为 {count!r}",
                                  element_id=self.bpmn_id)
        if count > MAX_INSTANCES:
            raise ScriptError(f"多实例数量 {count} 超过上限 {MAX_INSTANCES}", element_id=self.bpmn_id)
        outer = _enclosing_instances(my_task)
        if count * outer > MAX_INSTANCES:
            raise ScriptError(f"多实例数量 {count} 乘以外层多实例（子流程或调用活动）的 {outer} 个实例超过上限 "
                              f"{MAX_INSTANCES}", element_id=self.bpmn_id)
        my_task.internal_data["instances"] = count
        if self.input_item is not None and self.input_item.bpmn_id in my_task.data:
            raise ScriptError(f"元素变量“{self.input_item.bpmn_id}”与已有流程变量同名，请换一个名字",
                              element_id=self.bpmn_id)
        if self.output_item is not None and self.output_item.bpmn_id in my_task.data:
            raise ScriptError(f"输出项“{self.output_item.bpmn_id}”与已有流程变量同名，请换一个名字",
                              element_id=self.bpmn_id)
        if self.data_output is not None:
            # One position per instance, in input order (parallel instances finish in any order);
            # an instance withdrawn by the completion condition leaves None.
            my_task.data[self.data_output.bpmn_id] = [None] * count

    def _collect(self, my_task: Any, child: Any) -> bool:
        """Record one completed instance's result; return whether the completion condition holds."""
        index = child.internal_data.get("key_or_index")
        if index is None:
            index = child.internal_data.get("item")
        entry: dict[str, Any] = {"index": index}
        if self.input_item is not None:
            entry[self.input_item.bpmn_id] = child.data.get(self.input_item.bpmn_id)
        for field in self.output_fields:
            if field in child.data:
                entry[field] = child.data[field]
        if self.output_item is not None and self.data_output is not None:
            value = child.data.get(self.output_item.bpmn_id)
            entry[self.output_item.bpmn_id] = value
            output = my_task.data.get(self.data_output.bpmn_id)
            if isinstance(output, list) and isinstance(index, int) and 0 <= index < len(output):
                output[index] = value
        results = my_task.data.setdefault(self.results, [])
        results.append(entry)
        my_task.internal_data["merged"].append(str(child.id))
        if self.condition is None:
            return False
        total = int(my_task.internal_data.get("instances", 0))
        completed = len(my_task.internal_data["merged"])
        context = {
            "nrOfInstances": total,
            "nrOfCompletedInstances": completed,
            "nrOfActiveInstances": self._active(my_task),
            self.results: results,
        }
        return bool(my_task.workflow.script_engine.evaluate(child, self.condition, external_context=context))

    def init_data_output_with_input_data(self, my_task: Any, input_data: Any) -> None:
        """The output list is set up by _init_results (one position per instance), not SpiffWorkflow's way."""

    def init_data_output_with_cardinality(self, my_task: Any) -> None:
        """As above."""

    def _active(self, my_task: Any) -> int:
        return sum(1 for c in self._instances(my_task)  # type: ignore[attr-defined]
                   if not c.has_state(TaskState.FINISHED_MASK))


def _enclosing_instances(my_task: Any) -> int:
    """Return how many instances the multi-instance subprocesses / call activities around a task open
    together (1 outside any): the cap bounds what a chain of nested loops opens, not each loop alone."""
    factor = 1
    workflow = my_task.workflow
    while getattr(workflow, "parent_task_id", None) is not None:
        try:
            owner = workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
        except TaskNotFoundException:
            break
        loop = owner.parent
        if loop is not None and isinstance(loop.task_spec, _GovflowMultiInstance):
            factor *= max(1, int(loop.internal_data.get("instances", 1)))
        workflow = owner.workflow
    return factor


class GovflowParallelMultiInstanceTask(_GovflowMultiInstance, ParallelMultiInstanceTask):
    """All instances open at once; the completion condition withdraws the rest (或签, N-of-M)."""

    def __init__(self, wf_spec: Any, bpmn_id: str, task_spec: str, *, results: str,
                 output_fields: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, task_spec, **kwargs)
        self.results = results
        self.output_fields = tuple(output_fields)

    def _update_hook(self, my_task: Any) -> Any:
        # Inherit the parent's data (as SpiffWorkflow's own hook does) before the collection is read.
        super(MultiInstanceTask, self)._update_hook(my_task)
        self._init_results(my_task)
        self.create_children(my_task)
        if not self.children_complete(my_task):
            my_task._set_state(TaskState.STARTED)
            return None
        return True

    def merge_child(self, workflow: Any, child: Any) -> None:
        my_task = child.parent
        if self._collect(my_task, child):
            for other in self._instances(my_task):
                other.cancel()
            my_task._set_state(TaskState.READY)
        elif self.children_complete(my_task):
            my_task._set_state(TaskState.READY)

    def children_complete(self, my_task: Any) -> bool:
        # Finished instances may have been pruned: count merges, not children.
        return len(my_task.internal_data.get("merged", [])) >= int(my_task.internal_data.get("instances", 0))


class GovflowSequentialMultiInstanceTask(_GovflowMultiInstance, SequentialMultiInstanceTask):
    """One instance after another, in collection order; the completion condition stops early."""

    def __init__(self, wf_spec: Any, bpmn_id: str, task_spec: str, *, results: str,
                 output_fields: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, task_spec, **kwargs)
        self.results = results
        self.output_fields = tuple(output_fields)

    def _update_hook(self, my_task: Any) -> Any:
        super(MultiInstanceTask, self)._update_hook(my_task)
        self._init_results(my_task)
        if self.data_input is not None:
            my_task.internal_data["remaining"] = list(range(my_task.internal_data["instances"]))
        else:
            my_task.internal_data["cardinality"] = my_task.internal_data["instances"]
            my_task.internal_data["current"] = 0
        if not self.children_complete(my_task):
            self.add_next_child(my_task)
            my_task._set_state(TaskState.STARTED)
            return None
        return True

    def merge_child(self, workflow: Any, child: Any) -> None:
        my_task = child.parent
        if self._collect(my_task, child) or self.children_complete(my_task):
            my_task._set_state(TaskState.READY)
        else:
            self.add_next_child(my_task)


MULTI_INSTANCE_CLASSES = (GovflowParallelMultiInstanceTask, GovflowSequentialMultiInstanceTask)


class GovflowMultiInstanceConverter(MultiInstanceTaskConverter):
    """Serialize our multi-instance specs (full specs: migration diffs, spec-embedding dumps)."""

    def to_dict(self, spec: Any) -> dict[str, Any]:
        dct = super().to_dict(spec)
        dct["results"] = spec.results
        dct["output_fields"] = list(spec.output_fields)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> Any:
        dct["output_fields"] = tuple(dct.get("output_fields") or ())
        return super().from_dict(dct)
