"""Benchmark: whole share requests through the service vs. the same BPMN on the bare engine.

Service: over HTTP, each instance is submit (POST) + the reviewer's inbox (GET) + complete (POST).
Bare engine: SpiffWorkflow's CamundaParser and default serializer in-process, serializing and
restoring around each step (what any persistent service must do at least). Prints medians in ms
and their ratio, and the median of each request with that of GET /api/me (an authenticated no-op, the
floor of any request). Goal: the service within 4x of the bare engine on SQLite.

    .venv/bin/python bench/share_request.py            # starts its own service on a fresh SQLite file
    .venv/bin/python bench/share_request.py --url http://127.0.0.1:8000   # against a running demo
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _service import service_log

ROOT = Path(__file__).resolve().parents[1]
BPMN = ROOT / "bpmn" / "sharing_share_request.bpmn"
PASSWORD = "Demo#2026"
BODY = {"entry_code": "410000-gat-0001", "items": ["姓名", "公民身份号码"], "purpose": "社保资格认证",
        "scope": "社保经办系统", "period_from": "2026-11-01", "period_to": "2027-10-31", "method": "api",
        "legal_basis": "《社会保险法》第七十四条"}


def bare_engine(n: int) -> list[float]:
    """Run n instances on the bare engine, serialize/restore around each step; ms per instance."""
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.camunda.parser import CamundaParser
    from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG as CAMUNDA_DEFAULT
    from SpiffWorkflow.util.task import TaskState

    parser = CamundaParser()
    parser.add_bpmn_file(str(BPMN))
    spec = parser.get_spec("sharing_share_request")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_DEFAULT))
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        wf = BpmnWorkflow(spec)
        wf.data.update({"share_type": "conditional", "provider_department": "410000-gat",
                        "items": ["姓名", "公民身份号码"], "entry_code": "410000-gat-0001"})
        wf.get_tasks(state=TaskState.READY)[0].data.update(wf.data)
        wf.do_engine_steps()
        state = serializer.serialize_json(wf)
        wf = serializer.deserialize_json(state)
        task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data.update({"decision": "approve", "terms": "按约使用", "approved_items": ["姓名", "公民身份号码"]})
        task.run()
        wf.do_engine_steps()
        state = serializer.serialize_json(wf)
        assert wf.completed
        times.append((time.perf_counter() - t0) * 1000)
    return times


STEPS = ("submit", "inbox", "complete", "me")


def service(url: str, n: int, steps: dict[str, list[float]] | None = None) -> list[float]:
    """Run n whole share requests over HTTP; ms per instance. With `steps`, also ms per request of each
    step, and of an authenticated no-op (GET /api/me, outside the instance's time) as the floor."""
    with httpx.Client(base_url=url, timeout=30) as http:
        def token(user: str) -> dict[str, str]:
            r = http.post("/api/auth/token", data={"username": user, "password": PASSWORD})
            r.raise_for_status()
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        clerk, reviewer = token("rst_clerk"), token("gat_reviewer")
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            r = http.post("/api/share-requests", json=BODY, headers=clerk)
            r.raise_for_status()
            instance_id = r.json()["instance_id"]
            t1 = time.perf_counter()
            todo = http.get("/api/tasks", params={"view": "todo", "limit": 500}, headers=reviewer).json()["items"]
            task = next(t for t in todo if t["instance_id"] == instance_id)
            t2 = time.perf_counter()
            r = http.post(f"/api/tasks/{task['id']}/complete", headers=reviewer,
                          json={"data": {"decision": "approve", "terms": "按约使用"}})
            r.raise_for_status()
            t3 = time.perf_counter()
            times.append((t3 - t0) * 1000)
            if steps is not None:
                http.get("/api/me", headers=clerk).raise_for_status()
                t4 = time.perf_counter()
                for name, a, b in (("submit", t0, t1), ("inbox", t1, t2), ("complete", t2, t3), ("me", t3, t4)):
                    steps.setdefault(name, []).append((b - a) * 1000)
        return times


def start_service(port: int) -> tuple[subprocess.Popen[bytes], str]:
    """Start a service on a fresh, migrated, seeded SQLite file."""
    tmp = tempfile.mkdtemp(prefix="govflow-bench-")
    env = {**os.environ, "GOVFLOW_DATABASE_URL": f"sqlite:///{tmp}/bench.db", "GOVFLOW_RUN_SCHEDULER": "false",
           "GOVFLOW_ENVIRONMENT": "development"}
    py = sys.executable
    for command in ("migrate", "seed-demo"):
        subprocess.run([py, "-m", "app.cli", command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    proc = subprocess.Popen([py, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port),
                             "--host", "127.0.0.1", "--log-level", "warning"], cwd=ROOT, env=env,
                            stderr=service_log(tmp))
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{url}/login", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("service did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--url", help="a running service with the demo seed (default: start one)")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    proc = None
    url = args.url
    if url is None:
        proc, url = start_service(args.port)
    try:
        service(url, 10)  # warm-up: caches, connections
        steps: dict[str, list[float]] = {}
        svc = service(url, args.n, steps)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    bare_engine(10)
    bare = bare_engine(args.n)
    svc_med, bare_med = statistics.median(svc), statistics.median(bare)
    print(json.dumps({"instances": args.n, "service_median_ms": round(svc_med, 2),
                      "service_p90_ms": round(sorted(svc)[int(len(svc) * 0.9) - 1], 2),
                      "bare_engine_median_ms": round(bare_med, 2),
                      "ratio": round(svc_med / bare_med, 2), "goal_ratio": 4.0,
                      "per_request_median_ms": {k: round(statistics.median(steps[k]), 2) for k in STEPS}},
                     ensure_ascii=False))
    print(f"service {svc_med:.2f} ms per whole instance (median of {args.n}); bare engine {bare_med:.2f} ms; "
          f"ratio {svc_med / bare_med:.2f}x (goal ≤ 4x); per request: "
          + ", ".join(f"{k} {statistics.median(steps[k]):.2f} ms" for k in STEPS))


if __name__ == "__main__":
    main()
