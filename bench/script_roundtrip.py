"""Micro-benchmark: one BPMN expression / script evaluation through the sandbox, median of n.

Measures what each gateway condition, timer expression and script task costs the caller: since
issue 9 that is a round trip to a script worker process (JSON over a pipe) instead of an
in-thread run under opcode tracing. Also times a script-heavy loop (where tracing used to cost
the most), the first call after a worker was replaced, and a task-data payload of ~1,000 rows.

    .venv/bin/python bench/script_roundtrip.py --n 2000
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from app.engine.errors import ScriptError
from app.engine.sandbox import RestrictedEnvironment

ROWS = {"rows": [{"id": i, "name": f"条目{i}", "amount": i * 1.5} for i in range(1000)]}
CASES: dict[str, tuple[str, str, dict[str, object]]] = {
    "expression": ("eval", "decision == 'approve' and len(items) > 0",
                   {"decision": "approve", "items": ["姓名"]}),
    "small_script": ("exec", "total = sum(values) * 2\nlabel = 'n=%d' % len(values)", {"values": [1, 2, 3]}),
    "loop_script": ("exec", "total = 0\nfor a in range(999):\n    for b in range(100):\n        total += a * b",
                    {}),
    "rows_1000": ("exec", "count = len(rows)", ROWS),
}


def timed(fn: Callable[[], object], n: int) -> float:
    """Median milliseconds of n calls."""
    times = []
    for _ in range(n):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    env = RestrictedEnvironment(timeout_seconds=5.0)
    results: dict[str, float] = {}
    for name, (mode, source, data) in CASES.items():
        def call(mode: str = mode, source: str = source, data: dict[str, object] = data) -> object:
            if mode == "eval":
                return env.evaluate(source, dict(data))
            return env.execute(source, dict(data))
        call()  # warm-up: compile cache, worker start
        n = args.n if name != "loop_script" else max(args.n // 100, 5)
        results[name] = round(timed(call, n), 3)
    pool = getattr(env, "pool", None)
    if pool is not None:  # the first call after a worker hit a limit (isolated incidents)
        def respawn() -> float:
            try:
                env.execute("x = str.ljust('', 10 ** 10)", {})
            except ScriptError:
                pass
            began = time.perf_counter()
            env.evaluate("1 + 1", {})
            elapsed = (time.perf_counter() - began) * 1000
            time.sleep(2)  # let the pool start the replacement
            return elapsed
        results["memory_refusal_then_next_call"] = round(statistics.median(respawn() for _ in range(10)), 3)
    print(json.dumps({"n": args.n, "median_ms": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
