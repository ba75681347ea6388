"""Multi-instance beyond user tasks: subprocesses (per signer, several steps), call activities, script and
plain tasks; parallel and sequential, completion conditions, the instance cap, save/restore, migration.

Engine tests run in memory and with save/restore between every step; the runner tests store the state
in the database after every step (SQLite, and PostgreSQL with GOVFLOW_TEST_DATABASE_URL).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from sqlalchemy import select

from app.core.errors import InvalidInput
from app.engine.bpmn import describe
from app.engine.core import Engine, full_config
from app.engine.errors import BpmnRejected, ScriptError
from app.engine.models import ProcessInstance, Task, TaskStatus
from app.engine.multi_instance import MAX_INSTANCES
from tests.api.helpers import deploy_approved
from tests.designer.migration_helpers import actor, open_tasks
from tests.engine.support import Definition, definition, fixture, linear

SIGNERS = ["li_si", "wang_wu", "zhao_liu"]
PARALLEL_LOOP = b'<bpmn:multiInstanceLoopCharacteristics camunda:collection="signers" camunda:elementVariable="signer" />'


def per_signer(*, sequential: bool = False, condition: str | None = None) -> Definition:
    """tests/engine/bpmn/mi_subprocess.bpmn with its loop made sequential and/or given a completion condition."""
    xml = fixture("mi_subprocess").xml
    assert PARALLEL_LOOP in xml
    loop = ('<bpmn:multiInstanceLoopCharacteristics' + (' isSequential="true"' if sequential else '')
            + ' camunda:collection="signers" camunda:elementVariable="signer"')
    loop += f'><bpmn:completionCondition>{condition}</bpmn:completionCondition>' \
            '</bpmn:multiInstanceLoopCharacteristics>' if condition else ' />'
    return definition(xml.replace(PARALLEL_LOOP, loop.encode()))


class Run:
    """Drive one instance, saving and restoring between every step when asked."""

    def __init__(self, engine: Engine, process: Definition, *, restore_each_step: bool) -> None:
        self.engine, self.process, self.restore_each_step = engine, process, restore_each_step
        self.workflow: BpmnWorkflow | None = None
        self.sizes: list[int] = []

    @property
    def wf(self) -> BpmnWorkflow:
        assert self.workflow is not None
        return self.workflow

    def start(self, variables: dict[str, Any]) -> None:
        self.workflow = self.engine.start(self.process.content_hash, self.process.xml, variables)
        self._checkpoint()

    def ready(self) -> list[tuple[str, Any]]:
        """Return the ready user tasks as (task id, the signer / department of their instance)."""
        return sorted((t.task_spec, t.data.get("signer", t.data.get("dept")))
                      for t in self.engine.ready_user_tasks(self.wf))

    def complete(self, task_spec: str, who: Any, data: dict[str, Any] | None = None) -> None:
        [task] = [t for t in self.engine.ready_user_tasks(self.wf)
                  if t.task_spec == task_spec and t.data.get("signer", t.data.get("dept")) == who]
        self.engine.complete_user_task(self.wf, task.id, data or {})
        self._checkpoint()

    def review(self, signer: str, approved: bool, opinion: str) -> None:
        """One signer's two steps: 审查 with the form, then 确认."""
        self.complete("check", signer, {"approved": approved, "opinion": opinion})
        self.complete("confirm", signer)

    def data(self) -> dict[str, Any]:
        return self.engine.data(self.wf)

    def _checkpoint(self) -> None:
        state = self.engine.dump(self.wf)
        self.sizes.append(len(state))
        if self.restore_each_step:
            self.workflow = self.engine.restore(state, self.process.content_hash, self.process.xml)


MODES = pytest.mark.parametrize("restore_each_step", [False, True], ids=["in_memory", "restore_each_step"])


# -- subprocess: per signer, several steps ---------------------------------------------------------


@MODES
def test_parallel_subprocess_runs_every_signers_steps_and_keeps_each_result(engine: Engine,
                                                                           restore_each_step: bool) -> None:
    run = Run(engine, per_signer(), restore_each_step=restore_each_step)
    run.start({"signers": SIGNERS})
    # Each signer's instance of the subprocess is at its first step, the signer in that instance's data.
    assert run.ready() == [("check", "li_si"), ("check", "wang_wu"), ("check", "zhao_liu")]

    run.complete("check", "wang_wu", {"approved": True, "opinion": "同意"})
    assert run.ready() == [("check", "li_si"), ("check", "zhao_liu"), ("confirm", "wang_wu")]
    run.review("li_si", False, "材料不全")
    run.complete("confirm", "wang_wu")
    assert run.ready() == [("check", "zhao_liu")]
    assert not engine.is_completed(run.wf)
    run.review("zhao_liu", True, "无意见")

    assert engine.is_completed(run.wf)
    data = run.data()
    by_signer = {r["signer"]: r for r in data["per_signer_results"]}
    assert by_signer["li_si"] == {"index": 0, "signer": "li_si", "approved": False, "opinion": "材料不全",
                                  "note": "li_si：材料不全"}
    assert by_signer["wang_wu"]["note"] == "wang_wu：同意"
    assert by_signer["zhao_liu"]["index"] == 2
    # The script after the loop read every instance's result; nothing of an instance leaked into the process.
    assert data["agreed"] == 2
    assert data["notes"] == ["li_si：材料不全", "wang_wu：同意", "zhao_liu：无意见"]
    assert not {"signer", "approved", "opinion", "note"} & set(data)


@MODES
def test_sequential_subprocess_runs_one_signer_after_another(engine: Engine, restore_each_step: bool) -> None:
    run = Run(engine, per_signer(sequential=True), restore_each_step=restore_each_step)
    run.start({"signers": SIGNERS})
    for signer in SIGNERS:
        assert run.ready() == [("check", signer)]
        run.complete("check", signer, {"approved": True, "opinion": "同意"})
        assert run.ready() == [("confirm", signer)]  # the next signer waits until this one's steps are done
        run.complete("confirm", signer)
    assert engine.is_completed(run.wf)
    assert [r["signer"] for r in run.data()["per_signer_results"]] == SIGNERS
    assert run.data()["agreed"] == 3


@MODES
def test_parallel_subprocess_first_objection_withdraws_the_other_instances(engine: Engine,
                                                                          restore_each_step: bool) -> None:
    # Evaluated with the finished instance's data: one objection decides (一票否决).
    run = Run(engine, per_signer(condition="not approved"), restore_each_step=restore_each_step)
    run.start({"signers": SIGNERS})
    run.review("li_si", True, "同意")
    run.complete("check", "wang_wu", {"approved": True, "opinion": "同意"})
    assert run.ready() == [("check", "zhao_liu"), ("confirm", "wang_wu")]

    run.review("zhao_liu", False, "不同意")

    # wang_wu's 确认 (half-way through the instance) is withdrawn with the rest of that instance.
    assert run.ready() == []
    assert engine.is_completed(run.wf)
    data = run.data()
    assert [(r["signer"], r["approved"]) for r in data["per_signer_results"]] == \
        [("li_si", True), ("zhao_liu", False)]
    assert data["agreed"] == 1


@MODES
def test_sequential_subprocess_stops_after_two_instances(engine: Engine, restore_each_step: bool) -> None:
    run = Run(engine, per_signer(sequential=True, condition="nrOfCompletedInstances &gt;= 2"),
              restore_each_step=restore_each_step)
    run.start({"signers": SIGNERS})
    run.review("li_si", True, "同意")
    run.review("wang_wu", False, "不同意")
    assert run.ready() == []
    assert engine.is_completed(run.wf)
    assert [r["signer"] for r in run.data()["per_signer_results"]] == ["li_si", "wang_wu"]


def test_subprocess_state_stays_flat_over_twenty_signers(engine: Engine) -> None:
    signers = [f"signer_{i:02d}" for i in range(20)]
    run = Run(engine, per_signer(), restore_each_step=True)
    run.start({"signers": signers})
    for signer in signers[:-1]:
        run.review(signer, True, "同意")
    # Finished instances and their subprocesses are pruned: one open instance left, the state shrank.
    assert run.sizes[-1] < run.sizes[0] / 5
    state = json.loads(engine.dump(run.wf))
    assert len(state["subprocesses"]) == 1
    run.review(signers[-1], True, "同意")
    assert engine.is_completed(run.wf) and run.data()["agreed"] == 20


def test_full_serializer_config_round_trips_a_subprocess_loop_half_way(engine: Engine) -> None:
    # The spec-embedding serializer (migration diffs, dumps with their spec) knows our loop classes.
    run = Run(engine, per_signer(sequential=True, condition="nrOfCompletedInstances &gt;= 2"),
              restore_each_step=True)
    run.start({"signers": SIGNERS})
    run.review("li_si", True, "同意")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(full_config()))
    restored = serializer.from_dict(json.loads(json.dumps(serializer.to_dict(run.wf))))
    loop = restored.spec.task_specs["per_signer"]
    assert (loop.condition, loop.results, loop.output_fields) == \
        ("nrOfCompletedInstances >= 2", "per_signer_results", ("approved", "opinion", "note"))
    run.workflow, run.restore_each_step = restored, False  # a full dump carries its spec, not our hash
    assert run.ready() == [("check", "wang_wu")]
    run.review("wang_wu", True, "同意")
    assert engine.is_completed(run.wf)
    assert [r["signer"] for r in run.data()["per_signer_results"]] == ["li_si", "wang_wu"]


@pytest.mark.parametrize("sequential", [False, True], ids=["parallel", "sequential"])
def test_an_instance_half_way_through_a_subprocess_loop_moves_to_a_new_version(engine: Engine,
                                                                             sequential: bool) -> None:
    old = per_signer(sequential=sequential)
    new = definition(old.xml + b"<!-- v2 -->")
    renamed = definition(old.xml.replace('name="确认"'.encode(), 'name="复核确认"'.encode()))
    run = Run(engine, old, restore_each_step=True)
    run.start({"signers": SIGNERS})
    run.complete("check", "li_si", {"approved": True, "opinion": "同意"})

    blocked = engine.plan_migration(run.wf, renamed.content_hash, renamed.xml)
    assert [p.element for p in blocked.problems] == ["confirm"]  # the step li_si is at changed
    plan = engine.plan_migration(run.wf, new.content_hash, new.xml)
    assert plan.problems == []
    before = run.ready()
    engine.migrate(run.wf, plan)
    run.process = new
    run._checkpoint()

    assert run.ready() == before
    run.complete("confirm", "li_si")
    for signer in SIGNERS[1:]:
        run.review(signer, True, "同意")
    assert engine.is_completed(run.wf) and run.data()["agreed"] == 3


# -- script and plain tasks, call activities ---------------------------------------------------------

ITEMS = [{"name": "营业执照", "weight": 2}, {"name": "章程", "weight": 1}]


@MODES
def test_script_task_runs_once_per_item_and_a_plain_task_per_cardinality(engine: Engine,
                                                                        restore_each_step: bool) -> None:
    run = Run(engine, fixture("mi_script"), restore_each_step=restore_each_step)
    run.start({"items": ITEMS, "copy_count": 3})
    assert run.ready() == [("read", None)]
    data = run.data()
    assert data["scores"] == [{"index": 0, "item": ITEMS[0], "score": 8}, {"index": 1, "item": ITEMS[1], "score": 2}]
    assert data["copies_results"] == [{"index": 0}, {"index": 1}, {"index": 2}]
    assert (data["total"], data["sent"]) == (10, 3)
    assert "score" not in data and "item" not in data
    run.complete("read", None)
    assert engine.is_completed(run.wf)


def test_empty_collection_runs_no_instance(engine: Engine) -> None:
    run = Run(engine, fixture("mi_script"), restore_each_step=True)
    run.start({"items": [], "copy_count": 0})
    assert run.data()["scores"] == [] and run.data()["total"] == 0
    assert run.ready() == [("read", None)]


@MODES
def test_call_activity_runs_the_called_process_once_per_department(engine: Engine,
                                                                  restore_each_step: bool) -> None:
    run = Run(engine, fixture("mi_call"), restore_each_step=restore_each_step)
    run.start({"depts": ["gat", "scjg", "sjj"]})
    # The element variable reached the called process (its script labelled each instance).
    assert run.ready() == [("dr_review", "gat"), ("dr_review", "scjg"), ("dr_review", "sjj")]
    run.complete("dr_review", "scjg", {"opinion": "同意"})
    run.complete("dr_review", "sjj", {"opinion": "无意见"})
    assert run.ready() == [("dr_review", "gat")]
    run.complete("dr_review", "gat", {"opinion": "建议修改"})
    assert engine.is_completed(run.wf)
    data = run.data()
    assert data["summary"] == "[gat]建议修改；[scjg]同意；[sjj]无意见"
    assert {r["dept"]: r["label"] for r in data["each_dept_results"]} == \
        {"gat": "[gat]", "scjg": "[scjg]", "sjj": "[sjj]"}
    assert not {"dept", "opinion", "label"} & set(data)


# -- the cap ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("process", "variables", "element"), [
    (lambda: per_signer(), {"signers": [f"u{i}" for i in range(MAX_INSTANCES + 1)]}, "per_signer"),
    (lambda: fixture("mi_script"), {"items": [ITEMS[0]] * (MAX_INSTANCES + 1), "copy_count": 1}, "score_each"),
    (lambda: fixture("mi_script"), {"items": [], "copy_count": MAX_INSTANCES + 1}, "copies"),
    (lambda: fixture("mi_call"), {"depts": ["gat"] * (MAX_INSTANCES + 1)}, "each_dept"),
])
def test_more_instances_than_the_cap_are_refused_naming_the_element(engine: Engine, process: Any,
                                                                    variables: dict[str, Any],
                                                                    element: str) -> None:
    d = process()
    with pytest.raises(ScriptError, match="超过上限") as refused:
        engine.start(d.content_hash, d.xml, variables)
    assert refused.value.element_id == element
    assert f"流程元素 {element}" in refused.value.message_zh


NESTED = """<bpmn:subProcess id="outer">
  <bpmn:multiInstanceLoopCharacteristics camunda:collection="groups" camunda:elementVariable="group" />
  <bpmn:startEvent id="o_start" />
  <bpmn:sequenceFlow id="o_f1" sourceRef="o_start" targetRef="inner" />
  <bpmn:userTask id="inner" camunda:candidateGroups="reviewer">
    <bpmn:multiInstanceLoopCharacteristics camunda:collection="members" camunda:elementVariable="member" />
  </bpmn:userTask>
  <bpmn:sequenceFlow id="o_f2" sourceRef="inner" targetRef="o_end" />
  <bpmn:endEvent id="o_end" />
</bpmn:subProcess>"""


def test_nested_loops_count_together_against_the_cap(engine: Engine) -> None:
    d = definition(linear(NESTED, process_id="nested"))
    # 10 × 20 = 200 instances of the inner task: allowed.
    workflow = engine.start(d.content_hash, d.xml, {"groups": list(range(10)), "members": list(range(20))})
    assert len(engine.ready_user_tasks(workflow)) == 200
    # 10 × 21 would open 210 from one deploy-time diagram: refused, naming the inner loop.
    with pytest.raises(ScriptError, match="外层多实例") as refused:
        engine.start(d.content_hash, d.xml, {"groups": list(range(10)), "members": list(range(21))})
    assert refused.value.element_id == "inner"


# -- lint ------------------------------------------------------------------------------------------------


def test_results_fields_must_be_variable_names() -> None:
    xml = fixture("mi_subprocess").xml.replace(b'value="approved, opinion, note"', b'value="approved, a.b"')
    with pytest.raises(BpmnRejected) as refused:
        describe(xml)
    assert [(element, code) for element, _, code in refused.value.problems] == [("per_signer", "multi_instance")]
    assert "results_fields" in refused.value.problems[0][1] and "a.b" in refused.value.problems[0][1]


@pytest.mark.parametrize("tag", ["task", "manualTask"])
def test_a_generated_element_id_gets_a_usable_results_name(engine: Engine, tag: str) -> None:
    # Modelers generate ids such as `_e4d92d47-c77a-…`: `<id>_results` would be no variable name.
    d = definition(linear(f"""<bpmn:{tag} id="_c3f2-09df">
      <bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>2</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics></bpmn:{tag}>""", process_id="generated_ids"))
    workflow = engine.start(d.content_hash, d.xml, {})
    assert engine.is_completed(workflow)
    assert engine.data(workflow) == {"results_c3f2_09df": [{"index": 0}, {"index": 1}]}


def test_the_diagrams_deploy() -> None:
    for name in ("mi_subprocess", "mi_script", "mi_call"):
        describe(fixture(name).xml)


# -- through the runner (state stored in the database after every step) ----------------------------------


def _deploy(rt: Any, name: str, xml: bytes) -> None:
    with rt.db.session() as s:
        rt.runner.deploy(s, xml, filename=f"{name}.bpmn", actor="designer")
        s.commit()


def _complete(rt: Any, task: Task, data: dict[str, Any], by: Any) -> None:
    with rt.db.session() as s:
        rt.runner.complete_task(s, task.id, data, by)
        s.commit()


REVIEWERS = ["gat_reviewer", "scjg_reviewer", "zz_reviewer"]  # demo users of three departments, role reviewer


def test_runner_subprocess_loop_gives_each_signer_their_own_steps(client, as_user, rt) -> None:  # type: ignore[no-untyped-def]
    _deploy(rt, "mi_subprocess", per_signer(condition="nrOfCompletedInstances &gt;= 2").xml)
    with rt.db.session() as s:
        instance = rt.runner.start(s, "mi_subprocess", variables={"signers": REVIEWERS}, actor="system",
                                   subject="逐人审查")
        s.commit()
        instance_id = instance.id
    clients = {name: as_user(name) for name in REVIEWERS}

    def todo(name: str) -> list[dict[str, Any]]:
        r = clients[name].get("/api/tasks", params={"view": "todo"})
        assert r.status_code == 200, r.text
        return [t for t in r.json()["items"] if t["instance_id"] == instance_id]

    def do(name: str, data: dict[str, Any]) -> None:
        [task] = todo(name)
        r = clients[name].post(f"/api/tasks/{task['id']}/complete", json={"data": data})
        assert r.status_code == 200, r.text

    # Each signer's 审查 is in their own inbox only (the loop's element variable names them).
    for name in REVIEWERS:
        assert [(t["name"], t["assignee"]) for t in todo(name)] == [("审查", name)]
    assert [t for t in todo("gat_reviewer") if t["assignee"] != "gat_reviewer"] == []
    assert [t["name"] for t in (as_user("gat_clerk").get("/api/tasks", params={"view": "todo"}).json()["items"])
            if t["instance_id"] == instance_id] == []
    do("gat_reviewer", {"approved": True, "opinion": "同意"})
    do("zz_reviewer", {"approved": False, "opinion": "不同意"})
    # Their next step (确认) goes to them again; scjg_reviewer is still at 审查.
    assert [(t["name"], t["assignee"]) for t in todo("gat_reviewer")] == [("确认", "gat_reviewer")]
    assert [t["name"] for t in todo("scjg_reviewer")] == ["审查"]
    do("gat_reviewer", {})
    do("zz_reviewer", {})

    # Two instances completed: scjg_reviewer's open 审查 is withdrawn, the process went on.
    assert todo("scjg_reviewer") == []
    with rt.db.session() as s:
        row = s.get(ProcessInstance, instance_id)
        assert row is not None and row.status == "completed"
        statuses = sorted(t.status for t in s.execute(select(Task).where(Task.instance_id == instance_id)).scalars())
        assert statuses == [TaskStatus.cancelled.value] + [TaskStatus.completed.value] * 4
        variables = rt.runner.variables(s, row)
    assert variables["agreed"] == 1
    assert {r["signer"]: r["opinion"] for r in variables["per_signer_results"]} == \
        {"gat_reviewer": "同意", "zz_reviewer": "不同意"}


def test_runner_refuses_an_unknown_signer_before_anything_is_stored(rt) -> None:  # type: ignore[no-untyped-def]
    _deploy(rt, "mi_subprocess", fixture("mi_subprocess").xml)
    with rt.db.session() as s:
        with pytest.raises(InvalidInput) as refused:
            rt.runner.start(s, "mi_subprocess", variables={"signers": ["gat_reviewer", "nobody_here"]},
                            actor="system", subject="逐人审查")
        assert refused.value.code == "task_assignee_unknown"


def test_inner_task_assignee_must_be_the_loops_element_variable() -> None:
    meta = describe(fixture("mi_subprocess").xml).user_tasks
    assert meta["check"].assignee_from == {"assignee_variable": "signer", "collection": "signers",
                                           "loop": "per_signer"}
    assert meta["confirm"].assignee_from == meta["check"].assignee_from
    # Another variable is a plain designation (tests/engine/test_assignee_variable.py), not the loop's.
    other = fixture("mi_subprocess").xml.replace(b'camunda:assignee="${signer}"', b'camunda:assignee="${applicant}"')
    assert describe(other).user_tasks["check"].assignee_from == {"assignee_variable": "applicant",
                                                                 "collection": None, "loop": None}
    other = fixture("mi_subprocess").xml.replace(b'camunda:assignee="${signer}"', b'camunda:assignee="${a.b}"')
    with pytest.raises(BpmnRejected) as refused:
        describe(other)
    assert [(element, code) for element, _, code in refused.value.problems] == [("check", "expression")]


def test_runner_call_activity_loop_and_script_loop(rt) -> None:  # type: ignore[no-untyped-def]
    _deploy(rt, "mi_call", fixture("mi_call").xml)
    _deploy(rt, "mi_script", fixture("mi_script").xml)
    reviewer = actor(rt, "gat_reviewer")  # the tasks go to the department that started the instance
    with rt.db.session() as s:
        call_id = rt.runner.start(s, "mi_call", variables={"depts": ["gat", "scjg"]}, actor=reviewer,
                                  subject="多部门会审").id
        script_id = rt.runner.start(s, "mi_script", variables={"items": ITEMS, "copy_count": 2}, actor=reviewer,
                                    subject="逐项评分").id
        s.commit()
    for task, opinion in zip(open_tasks(rt, call_id), ("同意", "无意见"), strict=True):
        assert task.task_spec == "dr_review"
        _complete(rt, task, {"opinion": opinion}, reviewer)
    [read] = open_tasks(rt, script_id)
    _complete(rt, read, {}, reviewer)
    with rt.db.session() as s:
        call, script = s.get(ProcessInstance, call_id), s.get(ProcessInstance, script_id)
        assert call is not None and script is not None
        assert (call.status, script.status) == ("completed", "completed")
        assert rt.runner.variables(s, call)["summary"] == "[gat]同意；[scjg]无意见"
        assert (rt.runner.variables(s, script)["total"], rt.runner.variables(s, script)["sent"]) == (10, 2)


def test_api_refuses_a_loop_over_the_cap_with_422_naming_the_element(client, as_user, rt) -> None:  # type: ignore[no-untyped-def]
    deploy_approved(as_user("designer"), as_user("demo_admin"), fixture("mi_subprocess").xml.decode(),
                    "mi_subprocess.bpmn")
    designer = as_user("designer")
    too_many = [f"user_{i}" for i in range(MAX_INSTANCES + 1)]
    with rt.db.session() as s:
        before = s.execute(select(ProcessInstance.id)).all()
    r = designer.post("/api/processes/mi_subprocess/instances", json={"variables": {"signers": too_many}})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["code"] == "script_error"
    assert "per_signer" in detail["message"] and "超过上限 200" in detail["message"]
    with rt.db.session() as s:
        assert s.execute(select(ProcessInstance.id)).all() == before  # nothing stored
    r = designer.post("/api/processes/mi_subprocess/instances", json={"variables": {"signers": ["gat_reviewer"]}})
    assert r.status_code in (200, 201), r.text
