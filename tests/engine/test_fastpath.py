"""Trivial conditions and scripts are answered in-process with exactly the worker's answer; the rest
(and every error) still goes to a script worker."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import pytest

from app.engine import fastpath
from app.engine.errors import ScriptError
from app.engine.sandbox import RestrictedEnvironment

DATA: dict[str, Any] = {
    "share_type": "conditional", "decision": "refuse", "count": 3, "ratio": 0.5, "flag": True,
    "nothing": None, "day": date(2026, 12, 4), "at": datetime(2026, 12, 4, 8, 30, tzinfo=timezone.utc),
    "items": ["姓名", "公民身份号码"], "form": {"a": 1}, "text": "社保资格认证",
}

TRIVIAL_EXPRESSIONS = [
    'share_type == "unconditional"',
    'share_type == "conditional"',
    'share_type != "not_shared"',
    'decision in ("approve", "partial")',
    'decision not in ["approve", "partial"]',
    'decision in {"refuse"}',
    "count > 2 and ratio <= 0.5",
    "count < 2 or flag",
    "not flag",
    "0 < count < 5",
    "1 < count < 2",
    "-count == -3",
    "nothing is None",
    "flag is not False",
    '"资格" in text',
    '"refused" if decision == "refuse" else "granted"',
    "day == day",
    "at > at",
    "count",
    '"constant"',
    "count == 3.0",
    "flag == 1",
]

WORKER_EXPRESSIONS = [
    'missing == "x"',           # a NameError: the worker words it
    '"a" < count',              # a TypeError: likewise
    "len(items) > 1",           # a call
    "form['a'] == 1",           # a subscript
    'text.startswith("社")',     # an attribute
    '"姓名" in items',           # a list from the data
    "form == {}",               # a dict from the data
    "count + 1 > 3",            # arithmetic
    'decision is "refuse"',     # identity of strings depends on interning
    "count is 3",
    "[x for x in (1, 2)] == [1, 2]",
    " and ".join(["flag"] * 40),  # more nodes than the fast path takes
]


@pytest.fixture(scope="module")
def env() -> RestrictedEnvironment:
    return RestrictedEnvironment(timeout_seconds=1.0)


def worker_value(env: RestrictedEnvironment, source: str, data: dict[str, Any]) -> Any:
    """What a script worker answers (the canonical result)."""
    return env._run("eval", source, dict(data), None).get("value")


@pytest.mark.parametrize("source", TRIVIAL_EXPRESSIONS)
def test_trivial_expression_has_the_workers_answer(env: RestrictedEnvironment, source: str) -> None:
    value = fastpath.evaluate(source, dict(DATA), None, ScriptError)
    assert value is not fastpath.NOT_TRIVIAL
    expected = worker_value(env, source, DATA)
    assert value == expected and type(value) is type(expected)
    assert env.evaluate(source, dict(DATA)) == expected


@pytest.mark.parametrize("source", WORKER_EXPRESSIONS)
def test_anything_else_goes_to_a_worker(source: str) -> None:
    assert fastpath.evaluate(source, dict(DATA), None, ScriptError) is fastpath.NOT_TRIVIAL


def test_errors_keep_the_workers_wording(env: RestrictedEnvironment) -> None:
    with pytest.raises(ScriptError) as caught:
        env.evaluate('missing == "x"', dict(DATA))
    assert "missing" in caught.value.detail_zh


def test_external_context_wins_over_task_data_as_in_a_worker(env: RestrictedEnvironment) -> None:
    external = {"decision": "approve"}
    assert fastpath.evaluate('decision == "approve"', dict(DATA), external, ScriptError) is True
    assert env._run("eval", 'decision == "approve"', dict(DATA), external)["value"] is True


SCRIPTS = [
    'outcome = "refused" if decision == "refuse" else "granted"',
    'outcome = "granted"',
    "a = count > 1\nb = not a\nshare_type = 'open'",
    "decision = 'approve'\nagain = decision == 'approve'",
]


@pytest.mark.parametrize("script", SCRIPTS)
def test_trivial_script_leaves_the_workers_data(env: RestrictedEnvironment, script: str) -> None:
    data = fastpath.execute(script, dict(DATA), None, ScriptError)
    assert data is not fastpath.NOT_TRIVIAL
    expected = env._run("exec", script, dict(DATA), None)["data"]
    assert data == expected
    assert data["day"] == "2026-12-04"  # instants saved as ISO text, as after any script


def test_script_assigning_an_external_name_keeps_the_task_value(env: RestrictedEnvironment) -> None:
    external = {"decision": "approve"}
    script = "decision = 'x'\nseen = decision"
    data = fastpath.execute(script, dict(DATA), external, ScriptError)
    assert data == env._run("exec", script, dict(DATA), external)["data"]
    assert data["decision"] == "refuse" and data["seen"] == "x"


@pytest.mark.parametrize("script", [
    "x = len(items)", "x = 1\nx += 1", "if flag:\n    x = 1", "x, y = 1, 2", "x = y = 1", "x = missing",
    "x = form",  # a dict read from the data
])
def test_other_scripts_go_to_a_worker(script: str) -> None:
    assert fastpath.execute(script, dict(DATA), None, ScriptError) is fastpath.NOT_TRIVIAL


def test_trivial_code_starts_no_worker() -> None:
    # A pool of its own (an unusual memory budget): it starts workers only when one is needed.
    env = RestrictedEnvironment(timeout_seconds=1.0, memory_mb=193, workers=1)
    env.pool.close()
    context = dict(DATA)
    assert env.evaluate('share_type == "conditional"', context) is True
    env.execute('outcome = "refused" if decision == "refuse" else "granted"', context)
    assert context["outcome"] == "refused"
    assert env.pool._taken == 0
    assert env.evaluate("len(items)", context) == 2
    assert env.pool._taken == 1
    env.pool.close()


def test_refused_code_stays_refused_before_the_fast_path() -> None:
    env = RestrictedEnvironment(timeout_seconds=1.0)
    with pytest.raises(ScriptError):
        env.evaluate("_getattr_ == 1", dict(DATA))
