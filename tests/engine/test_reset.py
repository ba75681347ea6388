"""退回/撤回 reset an instance to an earlier step: the steps after it run again with the process data.

Regression: giving the reopened engine task a fresh id left the steps after it without any process data
(the next task saw {} instead of the variables), and a 会签 after it lost its results."""

from __future__ import annotations

import pytest

from app.engine.core import Engine
from tests.engine.support import definition, linear

DRAFT = '<bpmn:userTask id="draft" name="拟稿" camunda:candidateGroups="clerk" />'
REVIEW = '<bpmn:userTask id="review" name="审核" camunda:candidateGroups="reviewer" />'
FINAL = '<bpmn:userTask id="final" name="签发" camunda:candidateGroups="head" />'
SIGN = """<bpmn:userTask id="sign" name="会签" camunda:candidateGroups="reviewer" camunda:assignee="signer">
  <bpmn:extensionElements><camunda:formData><camunda:formField id="opinion" label="意见" type="string" />
  </camunda:formData></bpmn:extensionElements>
  <bpmn:multiInstanceLoopCharacteristics camunda:collection="signers" camunda:elementVariable="signer" />
</bpmn:userTask>"""


def _run(engine: Engine, xml: bytes, variables: dict):  # type: ignore[no-untyped-def]
    d = definition(xml)
    workflow = engine.start(d.content_hash, d.xml, variables)

    def saved(wf):  # type: ignore[no-untyped-def]
        return engine.restore(engine.dump(wf), d.content_hash, d.xml)
    return workflow, saved


@pytest.mark.parametrize("restore", [False, True], ids=["in_memory", "restore_each_step"])
def test_steps_after_a_reset_see_the_process_data(restore: bool) -> None:
    engine = Engine(script_timeout=0.5)
    wf, saved = _run(engine, linear(DRAFT, REVIEW, FINAL, process_id="reset_data"), {"x": 1})
    step = saved if restore else (lambda w: w)

    def complete(data: dict) -> None:
        [ready] = engine.ready_user_tasks(wf)
        engine.complete_user_task(wf, ready.id, data)

    complete({"a": 1}); wf = step(wf)
    complete({"b": 1}); wf = step(wf)
    [at_final] = engine.ready_user_tasks(wf)
    assert engine.returnable_steps(wf, at_final.id) == [("review", "审核"), ("draft", "拟稿")]
    reopened = engine.reset_to(wf, "draft", at_final.id); wf = step(wf)
    [draft] = engine.ready_user_tasks(wf)
    assert draft.task_spec == "draft" and draft.id == reopened and draft.data == {"x": 1}
    complete({"a": 2}); wf = step(wf)
    [review] = engine.ready_user_tasks(wf)
    assert review.task_spec == "review" and review.data == {"x": 1, "a": 2}
    complete({"b": 2}); wf = step(wf)
    [final] = engine.ready_user_tasks(wf)
    assert final.data == {"x": 1, "a": 2, "b": 2}


def test_a_countersign_after_the_reset_step_collects_its_results_again() -> None:
    engine = Engine(script_timeout=0.5)
    wf, saved = _run(engine, linear(DRAFT, SIGN, FINAL, process_id="reset_sign"), {"signers": ["a", "b"]})
    [draft] = engine.ready_user_tasks(wf)
    engine.complete_user_task(wf, draft.id, {}); wf = saved(wf)
    for task in engine.ready_user_tasks(wf):
        engine.complete_user_task(wf, task.id, {"opinion": "first"}); wf = saved(wf)
    [final] = engine.ready_user_tasks(wf)
    engine.reset_to(wf, "draft", final.id); wf = saved(wf)
    [draft] = engine.ready_user_tasks(wf)
    engine.complete_user_task(wf, draft.id, {}); wf = saved(wf)
    signers = engine.ready_user_tasks(wf)
    assert sorted(t.data["signer"] for t in signers) == ["a", "b"]
    for task in signers:
        engine.complete_user_task(wf, task.id, {"opinion": "second"}); wf = saved(wf)
    [final] = engine.ready_user_tasks(wf)
    assert [(r["signer"], r["opinion"]) for r in final.data["sign_results"]] == [("a", "second"), ("b", "second")]
    assert final.data["signers"] == ["a", "b"]
