"""The restricted script engine: escapes are refused, CPU is bounded, data stays JSON-safe."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from app.engine.core import Engine
from app.engine.errors import ScriptError, ScriptTimeout
from app.engine.sandbox import RestrictedEnvironment
from tests.engine.support import definition, linear

ESCAPES = {
    "import_builtin": "__import__('os').system('id')",
    "subclasses_walk": "x = ().__class__.__base__.__subclasses__()",
    "getattr_dunder": "x = getattr(1, '__class__')",
    "underscore_name": "x = _getattr_",
    "dunder_builtins": "x = __builtins__",
    "open_file": "x = open('/etc/passwd').read()",
    "eval": "x = eval('1 + 1')",
    "exec": "exec('x = 1')",
    "import_statement": "import os",
    "format_attribute_walk": "x = '{0.__class__}'.format(1)",
    "class_definition": "class A:\n    pass",
    "system_exit": "raise SystemExit(0)",
    "frame_walk": "def g():\n    yield 1\nx = g().gi_frame.f_globals",
}


def run(script: str, data: dict[str, Any] | None = None, timeout: float = 0.5) -> dict[str, Any]:
    """Run a script in the sandbox and return the task data it leaves."""
    context = dict(data or {})
    RestrictedEnvironment(timeout_seconds=timeout).execute(script, context)
    return context


def script_process(script: str, element_id: str = "risky") -> bytes:
    """Build a process whose only step is a script task."""
    return linear(f'<bpmn:scriptTask id="{element_id}"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>')


@pytest.mark.parametrize("name", list(ESCAPES))
def test_escape_fails_with_script_error(name: str) -> None:
    with pytest.raises(ScriptError) as caught:
        run(ESCAPES[name])

    assert not isinstance(caught.value, ScriptTimeout)
    assert caught.value.code == "script_error"


def test_refused_script_never_runs(tmp_path: Path) -> None:
    target = tmp_path / "written"

    with pytest.raises(ScriptError):
        run(f"open({str(target)!r}, 'w').write('x')")

    assert not target.exists()


def test_runtime_escape_in_a_script_task_names_the_element(engine: Engine) -> None:
    process = definition(script_process("secret = open('/etc/passwd').read()", "read_secret"))

    with pytest.raises(ScriptError) as caught:
        engine.start(process.content_hash, process.xml, {})

    assert "read_secret" in caught.value.message_zh
    assert caught.value.extra["element_id"] == "read_secret"


def test_endless_loop_in_a_worker_thread_stops_with_script_timeout(engine: Engine) -> None:
    process = definition(script_process("while True:\n    pass", "spin"))
    outcome: dict[str, Any] = {}

    def start() -> None:
        began = time.monotonic()
        try:
            engine.start(process.content_hash, process.xml, {})
        except ScriptTimeout as exc:
            outcome["error"] = exc
        outcome["elapsed"] = time.monotonic() - began

    worker = threading.Thread(target=start)
    worker.start()
    worker.join(timeout=15)

    assert not worker.is_alive()
    assert outcome["elapsed"] < 10  # 0.5 s of CPU; a silent worker is killed after 7 s
    assert outcome["error"].code == "script_timeout"
    assert "spin" in outcome["error"].message_zh


@pytest.mark.parametrize("script", [
    "while True:\n    try:\n        while True:\n            pass\n    except:\n        pass",
    "while True:\n    try:\n        while True:\n            pass\n"
    "    finally:\n        while True:\n            pass",
    "def forever():\n    while True:\n        pass\nforever()",
])
def test_timeout_cannot_be_swallowed(script: str) -> None:
    began = time.monotonic()

    with pytest.raises(ScriptTimeout):
        run(script, timeout=0.3)

    assert time.monotonic() - began < 10


def test_previous_trace_function_is_restored() -> None:
    def tracer(frame: Any, event: str, arg: Any) -> None:
        return None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        run("x = 1")
        with pytest.raises(ScriptTimeout):
            run("while True:\n    pass", timeout=0.1)
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(previous)


@pytest.mark.parametrize("script", [
    "x = 2 ** 10 ** 8",
    "x = pow(7, 10 ** 9)",
    "x = 1 << 10 ** 9",
    "x = 'a' * 10 ** 9",
    "x = [0] * 10 ** 9",
    "x = 3\nx **= 10 ** 9",
    "x = '%0999999999d' % 1",
    "x = 'a'.ljust(10 ** 9)",
    "x = ('a' * 1000).replace('a', 'b' * 10000)",
    "x = ','.join(['a' * 1000] * 10000)",
])
def test_huge_single_operations_are_refused_before_they_run(script: str) -> None:
    began = time.monotonic()

    with pytest.raises(ScriptError) as caught:
        run(script)

    assert "过大" in caught.value.message_zh
    assert time.monotonic() - began < 5


def test_gateway_condition_is_sandboxed(engine: Engine) -> None:
    process = definition(linear(
        '<bpmn:exclusiveGateway id="route" default="flow_1" />',
        extra='<bpmn:sequenceFlow id="leak" sourceRef="route" targetRef="end">'
              "<bpmn:conditionExpression>open('/etc/passwd') is not None</bpmn:conditionExpression>"
              "</bpmn:sequenceFlow>",
    ))

    with pytest.raises(ScriptError) as caught:
        engine.start(process.content_hash, process.xml, {})

    assert "route" in caught.value.message_zh
    assert "NameError" in caught.value.message_zh


def test_gateway_condition_is_cpu_bounded(engine: Engine) -> None:
    burn = "len([1 for a in range(999) for b in range(999) for c in range(999)]) &gt; 0"
    process = definition(linear(
        '<bpmn:exclusiveGateway id="route" default="flow_1" />',
        extra=f'<bpmn:sequenceFlow id="burn" sourceRef="route" targetRef="end">'
              f"<bpmn:conditionExpression>{burn}</bpmn:conditionExpression></bpmn:sequenceFlow>",
    ))
    began = time.monotonic()

    with pytest.raises(ScriptTimeout):
        engine.start(process.content_hash, process.xml, {})

    assert time.monotonic() - began < 10


def test_timer_expression_is_sandboxed(engine: Engine, frozen_clock: Any) -> None:
    process = definition(linear(
        '<bpmn:userTask id="reply" camunda:candidateGroups="clerk" />',
        extra='<bpmn:boundaryEvent id="deadline" attachedToRef="reply"><bpmn:timerEventDefinition>'
              "<bpmn:timeDate>open('/etc/passwd').read()</bpmn:timeDate>"
              "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
              '<bpmn:sequenceFlow id="late" sourceRef="deadline" targetRef="end" />',
    ))

    with pytest.raises(ScriptError) as caught:
        engine.start(process.content_hash, process.xml, {})

    assert "deadline" in caught.value.message_zh


def test_timer_value_that_is_not_an_instant_is_a_script_error(engine: Engine, frozen_clock: Any) -> None:
    process = definition(linear(
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
        "<bpmn:timeDate>'next tuesday'</bpmn:timeDate></bpmn:timerEventDefinition>"
        "</bpmn:intermediateCatchEvent>"
    ))

    with pytest.raises(ScriptError) as caught:
        engine.start(process.content_hash, process.xml, {})

    assert "wait" in caught.value.message_zh


def test_script_leaves_json_safe_data() -> None:
    data = run("def helper(v):\n    return v * 2\n"
               "doubled = helper(a)\npair = (1, 2)\nunique = {3}\nsquare = lambda v: v * v", {"a": 4})

    assert data == {"a": 4, "doubled": 8, "pair": [1, 2], "unique": [3]}


def test_script_leaving_unserializable_data_fails_and_keeps_the_data() -> None:
    context = {"a": 1}

    with pytest.raises(ScriptError) as caught:
        RestrictedEnvironment(timeout_seconds=0.5).execute("a = 2\ngen = (i for i in range(3))", context)

    assert "gen" in caught.value.message_zh
    assert context == {"a": 1}


def test_script_may_not_set_typename() -> None:
    with pytest.raises(ScriptError):
        run("meta = {'typename': 'BpmnWorkflow'}")


def test_plain_python_still_works() -> None:
    data = run(
        "total = sum(x for x in amounts if x > 0)\n"
        "names = sorted(n.upper() for n in people)\n"
        "first, *rest = people\n"
        "label = 'n=%d' % len(people)\n"
        "ok = all(isinstance(x, int) for x in amounts) and any(amounts)\n"
        "try:\n    boom = 1 / 0\nexcept ZeroDivisionError:\n    boom = None\n",
        {"amounts": [3, -1, 4], "people": ["li", "wang"]},
    )

    assert data["total"] == 7
    assert data["names"] == ["LI", "WANG"]
    assert (data["first"], data["rest"]) == ("li", ["wang"])
    assert data["label"] == "n=2"
    assert data["ok"] is True
    assert data["boom"] is None


def test_generator_left_behind_cannot_run_code_after_the_script() -> None:
    script = (
        "def pending():\n    try:\n        yield 1\n    finally:\n        while True:\n            pass\n"
        "gen = pending()\nfor value in gen:\n    break\n"
    )
    env = RestrictedEnvironment(timeout_seconds=0.5)

    with pytest.raises(ScriptError) as caught:
        env.execute(script, {})
    workers = env.pool.pids()
    began = time.monotonic()
    data = {"a": 1}
    env.execute("b = a + 1", data)  # the worker finalized the generator: its finally was refused, not run

    assert "gen" in caught.value.message_zh
    assert data == {"a": 1, "b": 2}
    assert set(workers) <= set(env.pool.pids())  # no worker was left spinning or replaced
    assert time.monotonic() - began < 5
