"""Hostile scripts and expressions: memory and CPU time stay bounded, whatever single operation they call.

Each payload must end in a ScriptError naming its BPMN element within a bounded time, and a normal
instance must run right after on the same process (the script workers stay healthy). Small limits
keep the list fast: 0.2 s of CPU and 64 MB per worker.
"""

from __future__ import annotations

import time
from typing import Any
from xml.sax.saxutils import escape

import pytest

from app.engine.core import Engine
from app.engine.errors import ScriptError, ScriptOutOfMemory, ScriptTimeout
from app.engine.sandbox import WorkerPool
from tests.engine.support import definition, linear

MEMORY_MB = 64
TIMEOUT = 0.2
N = "10 ** 9"

MEMORY = "内存"
TIMED_OUT = "timeout"
TOO_BIG = "过大"
TOO_DEEP = "嵌套过深"
RECURSION = "递归过深"
ERROR = "error"  # any clean script error (a refusal, NameError, ValueError…)

# name: (script, outcomes accepted). Where two outcomes are accepted, which limit is reached first
# depends on the host's speed; both are clean refusals.
HOSTILE: dict[str, tuple[str, set[str]]] = {
    # Single C-level calls that allocate N bytes (the list first).
    "str_ljust_from_type": (f"x = str.ljust('', {N})", {MEMORY}),
    "str_center_from_type": (f"x = str.center('', {N})", {MEMORY}),
    "str_rjust_from_type": (f"x = str.rjust('x', {N}, 'y')", {MEMORY}),
    "str_zfill_from_type": (f"x = str.zfill('1', {N})", {MEMORY}),
    "fstring_width": (f"x = f\"{{'':>{{{N}}}}}\"", {MEMORY}),
    "fstring_precision_of_float": (f"x = f\"{{1.5:.{{{N}}}f}}\"", {MEMORY, ERROR}),
    # RestrictedPython refuses str.format outright (it could reach attributes): a clean error.
    "str_format_nested_width": (f"x = '{{:>{{}}}}'.format('', {N})", {ERROR}),
    "str_format_literal_width": ("x = '{:>1000000000}'.format('')", {ERROR}),
    "str_format_from_type": (f"x = str.format('{{:^{{}}}}', 'a', {N})", {ERROR}),
    "int_to_bytes": (f"x = (0).to_bytes({N}, 'big')", {MEMORY}),
    "int_to_bytes_little": ("x = int.to_bytes(1, 2 ** 31, 'little')", {MEMORY}),
    "bytes_ljust": (f"x = str.encode('a').ljust({N})", {TOO_BIG}),
    "bytes_builtin": (f"x = bytes({N})", {ERROR}),
    "bytearray_builtin": (f"x = bytearray({N})", {ERROR}),
    "bytes_hex_blowup": ("x = (0).to_bytes(10 ** 8, 'big').hex()", {MEMORY}),
    "str_replace_from_type": ("x = str.replace('a' * 1000000, 'a', 'b' * 1000)", {MEMORY}),
    "str_expandtabs_from_type": ("x = str.expandtabs('\\t' * 1000000, 1000)", {MEMORY}),
    "str_join_from_type_generator": (
        "def parts():\n    while True:\n        yield 'x' * 1000000\nx = str.join('', parts())", {MEMORY, TIMED_OUT}),
    "join_huge_generator": (
        "def parts():\n    while True:\n        yield 'x' * 1000000\nx = ''.join(parts())", {MEMORY, TIMED_OUT}),
    "list_extend_doubling": ("x = [0]\nwhile True:\n    x.extend(x)", {MEMORY}),
    "list_append_copies": ("x = [0] * 1000000\nkept = []\nwhile True:\n    kept.append(list(x))", {MEMORY}),
    "list_comprehension_blowup": (
        "x = [[0] * 1000000 for i in range(999)]", {MEMORY}),
    "dict_comprehension_blowup": (
        "x = {(a, b, c): 0 for a in range(999) for b in range(999) for c in range(999)}", {MEMORY, TIMED_OUT}),
    "set_comprehension_blowup": (
        "x = {a * 1000000 + b * 999 + c for a in range(999) for b in range(999) for c in range(999)}",
        {MEMORY, TIMED_OUT}),
    "dict_fromkeys_generator": (
        "def keys():\n    i = 0\n    while True:\n        i += 1\n        yield i\nx = dict.fromkeys(keys())",
        {MEMORY, TIMED_OUT}),
    "print_flood": ("while True:\n    print('x' * 1000000)", {MEMORY, TIMED_OUT}),
    # Big integers.
    "big_int_power": ("x = 2 ** 10 ** 8", {TOO_BIG}),
    "big_int_pow_builtin": ("x = pow(7, 10 ** 9)", {TOO_BIG}),
    "big_int_self_multiply": ("x = 3\nwhile True:\n    x = x * x", {TOO_BIG}),
    "big_int_self_add": ("x = 3 ** 6000\nwhile True:\n    x = x + x", {TIMED_OUT, MEMORY, ERROR}),
    "big_int_from_text": ("x = int('9' * 1000000)", {ERROR}),
    "big_int_modular_power": ("x = pow(3, 2 ** 9999, 2 ** 9999 + 1)", {TIMED_OUT, ERROR}),
    # CPU time.
    "endless_loop": ("while True:\n    pass", {TIMED_OUT}),
    "swallowing_except": (
        "while True:\n    try:\n        while True:\n            pass\n    except:\n        pass", {TIMED_OUT}),
    "swallowing_except_base": (
        "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass",
        {TIMED_OUT, ERROR}),
    "finally_loops_again": (
        "while True:\n    try:\n        while True:\n            pass\n    finally:\n        while True:\n"
        "            pass", {TIMED_OUT}),
    "generator_finally_trick": (
        "def g():\n    try:\n        yield 1\n    finally:\n        while True:\n            pass\n"
        "for v in g():\n    while True:\n        pass", {TIMED_OUT}),
    "long_single_c_call": ("x = sorted([[0] * 1000] * 10 ** 6)", {TIMED_OUT}),
    "nested_comprehension_cpu": (
        "x = len([1 for a in range(999) for b in range(999) for c in range(999)])", {TIMED_OUT, MEMORY}),
    # Recursion and nesting.
    "recursion": ("def f(n):\n    return f(n + 1)\nf(0)", {RECURSION}),
    "mutual_recursion": ("def f(n):\n    return g(n)\ndef g(n):\n    return f(n)\nf(0)", {RECURSION}),
    "nested_list_10000_deep": (
        "x = []\ni = 0\nwhile i < 10000:\n    x = [x]\n    i += 1", {TOO_DEEP}),
    "nested_dict_10000_deep": (
        "x = {}\ni = 0\nwhile i < 10000:\n    x = {'k': x}\n    i += 1", {TOO_DEEP}),
    "repr_of_deep_nesting": (
        "x = []\ni = 0\nwhile i < 100000:\n    x = [x]\n    i += 1\ns = repr(x)", {RECURSION, ERROR}),
    "shared_reference_dag": ("x = [0]\ni = 0\nwhile i < 60:\n    x = [x, x]\n    i += 1", {TOO_BIG, TOO_DEEP}),
    "data_too_big": ("x = ['a' * 100000] * 100", {TOO_BIG}),
}


def _outcome(exc: ScriptError) -> str:
    if isinstance(exc, ScriptTimeout):
        return TIMED_OUT
    if isinstance(exc, ScriptOutOfMemory):
        assert MEMORY in exc.message_zh and exc.code == "script_memory"
        return MEMORY
    for marker in (TOO_BIG, TOO_DEEP, RECURSION):
        if marker in exc.message_zh:
            return marker
    return ERROR


@pytest.fixture(scope="module")
def limited() -> Engine:
    """An engine whose script workers get 0.2 s of CPU and 64 MB."""
    return Engine(script_timeout=TIMEOUT, script_memory_mb=MEMORY_MB)


def _script(script: str, element_id: str) -> Any:
    return definition(linear(f'<bpmn:scriptTask id="{element_id}"><bpmn:script>{escape(script)}'
                             "</bpmn:script></bpmn:scriptTask>"))


def _runs_normally(engine: Engine) -> None:
    process = _script("total = sum(values) * 2\nlabel = str.ljust('ok', 4, '.')", "fine")
    workflow = engine.start(process.content_hash, process.xml, {"values": [1, 2, 3]})
    assert engine.data(workflow)["total"] == 12
    assert engine.data(workflow)["label"] == "ok.."


def test_the_list_is_long_enough() -> None:
    assert len(HOSTILE) >= 30


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_script_is_a_clean_error_naming_the_element(limited: Engine, name: str) -> None:
    script, accepted = HOSTILE[name]
    process = _script(script, "hostile")
    began = time.monotonic()

    with pytest.raises(ScriptError) as caught:
        limited.start(process.content_hash, process.xml, {})

    assert time.monotonic() - began < 10
    assert caught.value.extra["element_id"] == "hostile"
    assert "hostile" in caught.value.message_zh
    assert _outcome(caught.value) in accepted, caught.value.message_zh
    _runs_normally(limited)  # the same process runs the next instance: the workers stay healthy


@pytest.mark.parametrize("expression", [
    f"len(str.ljust('', {N})) &gt; 0",
    f"len(f\"{{'':&gt;{{{N}}}}}\") &gt; 0",
    f"len((0).to_bytes({N}, 'big')) &gt; 0",
    "len([1 for a in range(999) for b in range(999) for c in range(999)]) &gt; 0",
])
def test_hostile_gateway_condition_names_the_gateway(limited: Engine, expression: str) -> None:
    process = definition(linear(
        '<bpmn:exclusiveGateway id="route" default="flow_1" />',
        extra=f'<bpmn:sequenceFlow id="burn" sourceRef="route" targetRef="end">'
              f"<bpmn:conditionExpression>{expression}</bpmn:conditionExpression></bpmn:sequenceFlow>",
    ))

    with pytest.raises(ScriptError) as caught:
        limited.start(process.content_hash, process.xml, {})

    assert caught.value.extra["element_id"] == "route"
    _runs_normally(limited)


def _peak_rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("VmHWM not found")


def test_memory_of_this_process_stays_bounded(limited: Engine) -> None:
    before = _peak_rss_bytes()

    for name in ("str_ljust_from_type", "fstring_width", "int_to_bytes", "list_extend_doubling",
                 "str_center_from_type"):
        process = _script(HOSTILE[name][0], "hostile")
        with pytest.raises(ScriptError):
            limited.start(process.content_hash, process.xml, {})

    # Each payload asks for about 1 GB; none of it was ever allocated here.
    assert _peak_rss_bytes() - before < MEMORY_MB * 1024 * 1024
    _runs_normally(limited)


def test_a_script_within_the_limits_still_uses_memory_and_time_freely(limited: Engine) -> None:
    process = _script("rows = [[i, str(i)] for i in range(999)]\nbig = len('x' * 1000000)\n"
                      "total = 0\nfor row in rows:\n    total += row[0]", "fine")

    workflow = limited.start(process.content_hash, process.xml, {})

    assert limited.data(workflow)["total"] == 498501
    assert limited.data(workflow)["big"] == 1000000


def test_workers_get_no_secrets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVFLOW_SECRET_KEY", "not-for-scripts-0123456789abcdef0123456789")
    monkeypatch.setenv("GOVFLOW_DATABASE_URL", "postgresql+psycopg://secret@db/govflow")
    pool = WorkerPool(1, MEMORY_MB)  # a fresh pool: its worker starts now, under this environment
    try:
        reply = pool.run({"mode": "eval", "source": "1 + 1", "timeout": TIMEOUT, "context": {}}, TIMEOUT)
        (pid,) = pool.pids()
        with open(f"/proc/{pid}/environ", "rb") as environ:
            names = {item.split(b"=", 1)[0] for item in environ.read().split(b"\0") if item}
    finally:
        pool.close()

    assert reply["value"] == 2
    assert not any(name.startswith(b"GOVFLOW") for name in names)
    assert names <= {b"PATH", b"LANG", b"PYTHONPATH", b"PYTHONDONTWRITEBYTECODE", b"PYTHONHASHSEED"}


def test_the_scripts_of_one_step_share_one_budget() -> None:
    # A multi-instance script task runs once per item: all its runs in one request share the step budget, not
    # one timeout each. A budget no script round trip fits in stops the second run, naming the element.
    from tests.engine.support import fixture

    d = fixture("mi_script")
    items = [{"name": "营业执照", "weight": 2}] * 3
    engine = Engine(script_timeout=1.0, script_memory_mb=MEMORY_MB, script_workers=1, script_step_budget=1e-9)
    with pytest.raises(ScriptTimeout) as exc:
        engine.start(d.content_hash, d.xml, {"items": items, "copy_count": 1})
    assert exc.value.extra["element_id"] == "score_each"
    assert "本次办理中脚本累计运行已超过" in exc.value.message_zh
    # A budget that fits: the same start runs every item (the budget is per step, not per engine).
    roomy = Engine(script_timeout=1.0, script_memory_mb=MEMORY_MB, script_workers=1, script_step_budget=60)
    for _ in range(2):
        workflow = roomy.start(d.content_hash, d.xml, {"items": items, "copy_count": 1})
        assert [r["score"] for r in roomy.data(workflow)["scores"]] == [8, 8, 8]
