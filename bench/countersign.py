"""Benchmark: a 20-signer parallel 会签 (multi-instance user task) completed signature by signature over HTTP.

Builds a fresh SQLite database (migrated, demo data, 20 extra reviewers), deploys a 会签 process, starts
instances through the runner and has every signer complete their own task over HTTP (TestClient, the
full app: auth, CSRF-free bearer token, lock, restore, step, save, project, audit). Per signature it
times POST /api/tasks/{id}/complete; prints the median cost of the first and the last signature over
the runs and their ratio (target: last <= 1.5x first), and the saved state size after each signature.

    .venv/bin/python bench/countersign.py [--signers 20] [--runs 5] [--tally]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "Demo#2026"
XML = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="bench_countersign" name="会签基准" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sign" />
    <bpmn:userTask id="sign" name="会签" camunda:candidateGroups="reviewer" camunda:assignee="signer"
      camunda:dueDate="5WD">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="approved" label="是否同意" type="boolean" />
          <camunda:formField id="opinion" label="会签意见" type="string" />
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="signers" camunda:elementVariable="signer" />
    </bpmn:userTask>
    {after}
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""
# With --tally, a script task reads every opinion after the 会签 (the last signature then also runs it
# in the script sandbox and ends the instance).
TALLY = """<bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="tally" />
    <bpmn:scriptTask id="tally" name="汇总" scriptFormat="python">
      <bpmn:script>agreed = len([r for r in sign_results if r["approved"]])</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="tally" targetRef="end" />"""
NO_TALLY = """<bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="end" />"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signers", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tally", action="store_true", help="a script task after the 会签 reads every opinion")
    args = parser.parse_args()

    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from app.cli import migrate
    from app.core.config import Settings
    from app.core.security import hash_password
    from app.engine.models import ProcessInstance
    from app.main import create_app
    from app.org.models import Department, User, UserRole
    from app.org.seed import load_demo
    from app.runtime import build_runtime
    from app.startup import prepare

    folder = Path(tempfile.mkdtemp(prefix="govflow-countersign-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    settings = Settings(environment="test", database_url=url, secret_key="bench-secret-key-" + "x" * 32,
                        run_scheduler=False, attachments_dir=folder / "attachments",
                        audit_head_export_path=folder / "audit-head.jsonl")
    migrate(url)
    rt = build_runtime(settings)
    prepare(rt)
    names = [f"bench_signer_{i:02d}" for i in range(args.signers)]
    with rt.db.session() as session:
        load_demo(session, settings.province_code)
        dept = session.execute(select(Department).where(Department.code == "410000-gat")).scalar_one()
        password_hash = hash_password(PASSWORD)
        for i, name in enumerate(names):
            from app.core.clock import clock

            user = User(username=name, password_hash=password_hash, display_name=f"会签人{i + 1:02d}",
                        department_id=dept.id, created_at=clock.now())
            session.add(user)
            session.flush()
            session.add(UserRole(user_id=user.id, role="reviewer"))
        rt.runner.deploy(session, XML.replace("{after}", TALLY if args.tally else NO_TALLY).encode(), filename="bench_countersign.bpmn", actor="system")
        session.commit()

    first: list[float] = []
    last: list[float] = []
    all_costs: list[list[float]] = []
    sizes: list[int] = []
    with TestClient(create_app(settings, runtime=rt)) as client:
        tokens = {}
        for name in names:
            r = client.post("/api/auth/token", data={"username": name, "password": PASSWORD})
            r.raise_for_status()
            tokens[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        for run in range(args.runs + 1):  # the first run warms the caches and is not counted
            with rt.db.session() as session:
                instance = rt.runner.start(session, "bench_countersign", variables={"signers": names},
                                           actor="system", subject=f"会签基准 {run}")
                session.commit()
                instance_id = instance.id
                start_size = len(instance.state)
            costs: list[float] = []
            run_sizes = [start_size]
            for name in names:
                r = client.get("/api/tasks", params={"view": "todo"}, headers=tokens[name])
                [task] = [t for t in r.json()["items"] if t["instance_id"] == instance_id]
                t0 = time.perf_counter()
                r = client.post(f"/api/tasks/{task['id']}/complete",
                                json={"data": {"approved": True, "opinion": f"{name} 同意"}}, headers=tokens[name])
                costs.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
                with rt.db.session() as session:
                    run_sizes.append(len(session.execute(select(ProcessInstance.state).where(
                        ProcessInstance.id == instance_id)).scalar_one()))
            with rt.db.session() as session:
                status = session.execute(select(ProcessInstance.status).where(
                    ProcessInstance.id == instance_id)).scalar_one()
                assert status == "completed", status
            if run == 0:
                continue
            first.append(costs[0])
            last.append(costs[-1])
            all_costs.append(costs)
            sizes = run_sizes
    rt.db.dispose()

    median_first, median_last = statistics.median(first), statistics.median(last)
    per_position = [statistics.median(c[i] for c in all_costs) for i in range(args.signers)]
    print(f"{args.signers}-signer parallel 会签 over HTTP (TestClient, SQLite), {args.runs} runs"
          + (", script task after it" if args.tally else ""))
    print("median ms per signature by position: " + " ".join(f"{v:.1f}" for v in per_position))
    print(f"first signature median: {median_first:.1f} ms")
    print(f"last signature median:  {median_last:.1f} ms")
    print(f"last / first: {median_last / median_first:.2f} (target <= 1.5)")
    print("state bytes: start " + str(sizes[0]) + ", after each signature: " + " ".join(map(str, sizes[1:])))


if __name__ == "__main__":
    main()
