"""Multi-instance in the standard BPMN form: loopDataInputRef / inputDataItem / loopDataOutputRef /
outputDataItem, read as collection / element variable / output list (app/engine/multi_instance.py).

Engine tests run in memory and with save/restore between every step; the runner test stores the state
in the database after every step (SQLite, and PostgreSQL with GOVFLOW_TEST_DATABASE_URL).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

from app.engine.bpmn import describe
from app.engine.core import Engine, full_config
from app.engine.errors import BpmnRejected, ScriptError
from app.engine.models import ProcessInstance
from app.engine.multi_instance import MAX_INSTANCES
from tests.designer.migration_helpers import actor, open_tasks
from tests.engine.support import Definition, definition, linear
from tests.engine.test_multi_instance_elements import MODES, REVIEWERS, Run


def standard_loop(*, sequential: bool = False, source: str = "<bpmn:loopDataInputRef>signers</bpmn:loopDataInputRef>",
                  output: str = "opinions", output_item: str = "opinion", condition: str = "") -> str:
    seq = ' isSequential="true"' if sequential else ""
    out = (f"<bpmn:loopDataOutputRef>{output}</bpmn:loopDataOutputRef>" if output else "")
    out_item = f'<bpmn:outputDataItem id="{output_item}" name="意见" />' if output_item else ""
    cond = f"<bpmn:completionCondition>{condition}</bpmn:completionCondition>" if condition else ""
    return (f'<bpmn:multiInstanceLoopCharacteristics{seq}>{source}{out}'
            f'<bpmn:inputDataItem id="signer" name="签署人" />{out_item}{cond}'
            '</bpmn:multiInstanceLoopCharacteristics>')


def countersign(loop: str) -> Definition:
    """One multi-instance user task (form: approved, opinion) drawn in the standard form, then a script
    reading the output list and the results list."""
    task = f"""<bpmn:userTask id="sign" name="会签" camunda:candidateGroups="reviewer" camunda:assignee="signer">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="approved" label="同意" type="boolean" />
        <camunda:formField id="opinion" label="意见" type="string" />
      </camunda:formData></bpmn:extensionElements>
      {loop}
    </bpmn:userTask>"""
    script = """<bpmn:scriptTask id="tally" scriptFormat="python"><bpmn:script>summary = "；".join(o or "-" for o in opinions)
agreed = len([r for r in sign_results if r["approved"]])</bpmn:script></bpmn:scriptTask>"""
    return definition(linear(task, script, process_id="mi_data_sign"))


def scores(*, sequential: bool) -> Definition:
    """A script task run per loopCardinality, its index in inputDataItem, its result in outputDataItem."""
    seq = ' isSequential="true"' if sequential else ""
    task = f"""<bpmn:scriptTask id="square" scriptFormat="python">
      <bpmn:multiInstanceLoopCharacteristics{seq}><bpmn:loopCardinality>count</bpmn:loopCardinality>
        <bpmn:loopDataOutputRef>squares</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="n" name="序号" /><bpmn:outputDataItem id="sq" name="平方" />
      </bpmn:multiInstanceLoopCharacteristics><bpmn:script>sq = n * n</bpmn:script></bpmn:scriptTask>"""
    wait = '<bpmn:userTask id="read" camunda:candidateGroups="reviewer" />'
    return definition(linear(task, wait, process_id="mi_data_square"))


SIGNERS = ["li_si", "wang_wu", "zhao_liu"]


@MODES
def test_output_list_is_in_input_order_whatever_order_the_signers_finish(engine: Engine,
                                                                       restore_each_step: bool) -> None:
    run = Run(engine, countersign(standard_loop()), restore_each_step=restore_each_step)
    run.start({"signers": SIGNERS})
    assert run.ready() == [("sign", s) for s in SIGNERS]
    run.complete("sign", "zhao_liu", {"approved": True, "opinion": "无意见"})
    run.complete("sign", "li_si", {"approved": False, "opinion": "材料不全"})
    assert not engine.is_completed(run.wf)
    run.complete("sign", "wang_wu", {"approved": True, "opinion": "同意"})

    assert engine.is_completed(run.wf)
    data = run.data()
    assert data["opinions"] == ["材料不全", "同意", "无意见"]
    assert data["summary"] == "材料不全；同意；无意见" and data["agreed"] == 2
    # The results list is kept besides the output list (in completion order, each entry with its index).
    assert [(r["index"], r["signer"], r["opinion"]) for r in data["sign_results"]] == \
        [(2, "zhao_liu", "无意见"), (0, "li_si", "材料不全"), (1, "wang_wu", "同意")]
    assert not {"signer", "opinion", "approved"} & set(data)


@MODES
def test_sequential_loop_stopped_early_leaves_none_for_the_withdrawn(engine: Engine, restore_each_step: bool) -> None:
    loop = standard_loop(sequential=True, condition="nrOfCompletedInstances &gt;= 2")
    run = Run(engine, countersign(loop), restore_each_step=restore_each_step)
    run.start({"signers": SIGNERS})
    assert run.ready() == [("sign", "li_si")]
    run.complete("sign", "li_si", {"approved": True, "opinion": "同意"})
    assert run.ready() == [("sign", "wang_wu")]
    run.complete("sign", "wang_wu", {"approved": True})  # left no opinion
    assert engine.is_completed(run.wf)
    assert run.data()["opinions"] == ["同意", None, None]
    assert run.data()["summary"] == "同意；-；-"


@MODES
@pytest.mark.parametrize("sequential", [False, True], ids=["parallel", "sequential"])
def test_script_task_per_cardinality_fills_the_output_list(engine: Engine, restore_each_step: bool,
                                                           sequential: bool) -> None:
    run = Run(engine, scores(sequential=sequential), restore_each_step=restore_each_step)
    run.start({"count": 4})
    data = run.data()
    assert data["squares"] == [0, 1, 4, 9]
    assert data["square_results"] == [{"index": i, "n": i, "sq": i * i} for i in range(4)]
    assert "sq" not in data and "n" not in data


def test_plain_task_in_spiffworkflows_own_form_passes_through(engine: Engine) -> None:
    """SpiffWorkflow's test diagrams loop a plain task over `input_data`; nothing sets the output item."""
    task = """<bpmn:task id="any_task" name="Any Task"><bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>input_data</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>output_data</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="input_item" name="input item" />
        <bpmn:outputDataItem id="output_item" name="output item" />
      </bpmn:multiInstanceLoopCharacteristics></bpmn:task>"""
    run = Run(engine, definition(linear(task, process_id="spiff_form")), restore_each_step=True)
    run.start({"input_data": [1, 2, 3]})
    assert engine.is_completed(run.wf)
    assert run.data()["output_data"] == [None, None, None]
    with pytest.raises(ScriptError) as missing:
        Run(engine, definition(linear(task, process_id="spiff_form")), restore_each_step=True).start({})
    assert missing.value.element_id == "any_task" and "input_data" in str(missing.value.detail_zh)


def test_the_cap_and_name_clashes_still_hold(engine: Engine) -> None:
    process = countersign(standard_loop())
    with pytest.raises(ScriptError) as too_many:
        Run(engine, process, restore_each_step=True).start({"signers": [f"u{i}" for i in range(MAX_INSTANCES + 1)]})
    assert too_many.value.element_id == "sign" and "超过上限" in str(too_many.value.detail_zh)
    with pytest.raises(ScriptError) as clash:
        Run(engine, process, restore_each_step=True).start({"signers": SIGNERS, "opinion": "x"})
    assert "输出项“opinion”" in str(clash.value.detail_zh)


def test_metadata_reads_the_standard_form_as_collection_and_element_variable() -> None:
    meta = describe(countersign(standard_loop()).xml).user_tasks["sign"].multi_instance
    assert meta == {"sequential": False, "collection": "signers", "element_variable": "signer", "cardinality": None,
                    "condition": None, "results": "sign_results", "assignee_variable": "signer",
                    "output": "opinions", "output_item": "opinion"}


@pytest.mark.parametrize(("loop", "expected"), [
    (standard_loop(output_item=""), "须同时设置"),
    (standard_loop(output=""), "须同时设置"),
    (standard_loop(output="signers"), "不同名"),
    (standard_loop(output_item="signer"), "不同名"),
    (standard_loop(output="a.b"), "变量名"),
    (standard_loop(source='<bpmn:loopDataInputRef>others</bpmn:loopDataInputRef>').replace(
        "<bpmn:multiInstanceLoopCharacteristics", '<bpmn:multiInstanceLoopCharacteristics camunda:collection="signers"'),
     "写了两次"),
    (standard_loop().replace('<bpmn:inputDataItem id="signer"', '<bpmn:inputDataItem'), "须有 id"),
    (standard_loop().replace("</bpmn:multiInstanceLoopCharacteristics>",
                             "<bpmn:complexBehaviorDefinition id='c' /></bpmn:multiInstanceLoopCharacteristics>"),
     "complexBehaviorDefinition"),
])
def test_lint_refuses_half_or_doubled_loop_data(loop: str, expected: str) -> None:
    with pytest.raises(BpmnRejected) as refused:
        describe(countersign(loop).xml)
    assert any(element == "sign" and code == "multi_instance" and expected in message
               for element, message, code in refused.value.problems), refused.value.problems


def test_runner_collects_the_output_list_through_the_database(rt) -> None:  # type: ignore[no-untyped-def]
    with rt.db.session() as s:
        rt.runner.deploy(s, countersign(standard_loop()).xml, filename="mi_data_sign.bpmn", actor="designer")
        s.commit()
    with rt.db.session() as s:
        instance_id = rt.runner.start(s, "mi_data_sign", variables={"signers": REVIEWERS}, actor="system",
                                      subject="会签").id
        s.commit()
    opinions = {"gat_reviewer": "同意", "scjg_reviewer": "不同意", "zz_reviewer": "无意见"}
    for name in reversed(REVIEWERS):
        signer = actor(rt, name)
        [task] = [t for t in open_tasks(rt, instance_id) if t.assignee_id == signer.id]
        with rt.db.session() as s:
            rt.runner.complete_task(s, task.id, {"approved": True, "opinion": opinions[name]}, signer)
            s.commit()
    with rt.db.session() as s:
        row = s.get(ProcessInstance, instance_id)
        assert row is not None and row.status == "completed"
        variables: dict[str, Any] = rt.runner.variables(s, row)
    assert variables["opinions"] == ["同意", "不同意", "无意见"]
    assert variables["summary"] == "同意；不同意；无意见"


def per_item_subprocess() -> Definition:
    """An embedded subprocess per item (a script, then a user task), its output item set by the script."""
    sub = """<bpmn:subProcess id="per_dept">
      <bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>depts</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>labels</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="dept" name="部门" /><bpmn:outputDataItem id="label" name="标签" />
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:startEvent id="sp_start" />
      <bpmn:scriptTask id="make_label" scriptFormat="python"><bpmn:script>label = "[" + dept + "]"</bpmn:script></bpmn:scriptTask>
      <bpmn:userTask id="check" camunda:candidateGroups="reviewer" />
      <bpmn:endEvent id="sp_end" />
      <bpmn:sequenceFlow id="sp_f1" sourceRef="sp_start" targetRef="make_label" />
      <bpmn:sequenceFlow id="sp_f2" sourceRef="make_label" targetRef="check" />
      <bpmn:sequenceFlow id="sp_f3" sourceRef="check" targetRef="sp_end" />
    </bpmn:subProcess>"""
    return definition(linear(sub, process_id="mi_data_sub"))


@MODES
def test_subprocess_per_item_collects_what_each_instance_left(engine: Engine, restore_each_step: bool) -> None:
    run = Run(engine, per_item_subprocess(), restore_each_step=restore_each_step)
    run.start({"depts": ["gat", "scjg"]})
    assert run.ready() == [("check", "gat"), ("check", "scjg")]
    run.complete("check", "scjg")
    run.complete("check", "gat")
    assert engine.is_completed(run.wf)
    data = run.data()
    assert data["labels"] == ["[gat]", "[scjg]"]
    assert not {"dept", "label"} & set(data)


def test_full_serializer_config_round_trips_the_output_list_half_way(engine: Engine) -> None:
    # The spec-embedding serializer (migration diffs, dumps with their spec) keeps the output pair.
    run = Run(engine, per_item_subprocess(), restore_each_step=True)
    run.start({"depts": ["gat", "scjg"]})
    run.complete("check", "scjg")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(full_config()))
    restored = serializer.from_dict(json.loads(json.dumps(serializer.to_dict(run.wf))))
    loop = restored.spec.task_specs["per_dept"]
    assert (loop.data_output.bpmn_id, loop.output_item.bpmn_id) == ("labels", "label")
    run.workflow, run.restore_each_step = restored, False
    run.complete("check", "gat")
    assert engine.is_completed(run.wf) and run.data()["labels"] == ["[gat]", "[scjg]"]
