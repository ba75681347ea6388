"""Bench: a review loop drawn back as a sequence flow (退回 → back to the draft), run for many rounds.

Bare engine, dump → restore between every step as the host does. Prints the median time per step at
rounds 1-10 and at the last ten rounds, their ratio, and the saved state's size at both ends.

    .venv/bin/python bench/loop_rounds.py [rounds]
"""

from __future__ import annotations

import hashlib
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.engine.core import Engine  # noqa: E402

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"')

# start → 起草 → 审核 → 审核结论? 通过 → end ; 退回 → 起草
REVIEW_LOOP = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="d_loop" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="loop_drawn_back" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="draft" name="起草" camunda:candidateGroups="clerk" />
    <bpmn:userTask id="review" name="审核" camunda:candidateGroups="reviewer" />
    <bpmn:exclusiveGateway id="verdict" name="审核结论" default="to_end" />
    <bpmn:scriptTask id="count" name="计数"><bpmn:script>rounds = rounds + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="draft" />
    <bpmn:sequenceFlow id="f2" sourceRef="draft" targetRef="count" />
    <bpmn:sequenceFlow id="f3" sourceRef="count" targetRef="review" />
    <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="verdict" />
    <bpmn:sequenceFlow id="to_end" sourceRef="verdict" targetRef="end" />
    <bpmn:sequenceFlow id="back" name="退回" sourceRef="verdict" targetRef="draft">
      <bpmn:conditionExpression>not approved</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def main(rounds: int = 500) -> None:
    engine = Engine()
    content_hash = hashlib.sha256(REVIEW_LOOP).hexdigest()
    workflow = engine.start(content_hash, REVIEW_LOOP, {"rounds": 0})
    state = engine.dump(workflow)
    per_round: list[float] = []
    cpu_round: list[float] = []
    sizes: dict[int, int] = {}
    tasks: dict[int, int] = {}
    for lap in range(1, rounds + 1):
        steps: list[float] = []
        cpu: list[float] = []
        for element, data in (("draft", {"title": f"第{lap}稿"}), ("review", {"approved": lap == rounds})):
            began, began_cpu = time.perf_counter(), time.process_time()
            workflow = engine.restore(state, content_hash, REVIEW_LOOP)
            [task] = [t for t in engine.ready_user_tasks(workflow) if t.task_spec == element]
            engine.complete_user_task(workflow, task.id, data)
            state = engine.dump(workflow)
            steps.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
        per_round.append(statistics.median(steps))
        cpu_round.append(statistics.median(cpu))
        sizes[lap] = len(state)
        tasks[lap] = len(workflow.tasks)
    assert engine.is_completed(workflow) and engine.data(workflow)["rounds"] == rounds
    first, last = statistics.median(per_round[:10]), statistics.median(per_round[-10:])
    print(f"rounds: {rounds}, steps: {2 * rounds} (restore → complete → dump each)")
    print(f"median per step, rounds 1-10: {first * 1000:.2f} ms")
    print(f"median per step, rounds {rounds - 9}-{rounds}: {last * 1000:.2f} ms")
    print(f"ratio last/first: {last / first:.2f}")
    first_cpu, last_cpu = statistics.median(cpu_round[:10]), statistics.median(cpu_round[-10:])
    print(f"CPU time of this process per step (script worker excluded): {first_cpu * 1000:.2f} ms → "
          f"{last_cpu * 1000:.2f} ms, ratio {last_cpu / first_cpu:.2f}")
    print(f"tasks in the tree: round 10 {tasks[min(10, rounds)]}, round {rounds - 1} {tasks[max(1, rounds - 1)]}")
    print(f"state size: round 10 {sizes[min(10, rounds)]} chars, round {rounds - 1} "
          f"{sizes[max(1, rounds - 1)]} chars, at the end {sizes[rounds]} chars")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
