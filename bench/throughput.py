"""Benchmark: throughput of whole share requests, N concurrent clients against 2 uvicorn workers.

Each client runs whole share requests in a loop, as bench/share_request.py does: the clerk submits
(POST), the provider's reviewer lists the inbox (GET) and completes the review (POST). Clients are
spread over the two conditional routes of the demo seed, so that they do not all share one inbox:
rst_clerk → gat_reviewer (entry 410000-gat-0001) and zz_clerk → zz_reviewer (entry 410100-gaj-0001).
The service is started by the benchmark with `uvicorn --workers 2` (scheduler off, as in
bench/share_request.py) on a fresh database migrated and seeded like `make run` does: a new SQLite file,
and a new PostgreSQL database it creates and drops.

Prints per database: whole instances per second, p50/p95 of a whole instance and of each request kind,
the p95/p50 ratio, errors (any non-2xx answer or exception; the first few are printed), the benchmark's
own CPU use and the load average. Targets (issue 12): PostgreSQL ≥ 100 instances/s, p95 ≤ 3x p50, 0
errors; SQLite, no p95 blow-up.

    .venv/bin/python bench/throughput.py                     # both databases, 8 clients, 60 s each
    .venv/bin/python bench/throughput.py --db sqlite --seconds 20 --clients 8
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _service import service_log

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.share_request import BODY, PASSWORD  # noqa: E402

# (clerk, reviewer of the providing department, catalog entry, items asked for)
ROUTES = (("rst_clerk", "gat_reviewer", "410000-gat-0001", ["姓名", "公民身份号码"]),
          ("zz_clerk", "zz_reviewer", "410100-gaj-0001", ["姓名", "居住证号"]))
KINDS = ("submit", "inbox", "complete")
MAX_ERRORS_SHOWN = 5


@dataclass
class Results:
    """What the clients measured (appended to under a lock)."""

    instances: list[float] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def percentile(values: list[float], q: float) -> float:
    """Return the q-quantile (nearest rank) of values, 0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


class Failed(Exception):
    """A request of an instance answered with a non-2xx status."""


def _check(r: httpx.Response, what: str) -> httpx.Response:
    if not 200 <= r.status_code < 300:
        raise Failed(f"{what}: HTTP {r.status_code} {r.text[:200]}")
    return r


def login(http: httpx.Client, user: str) -> dict[str, str]:
    r = _check(http.post("/api/auth/token", data={"username": user, "password": PASSWORD}), f"login {user}")
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def one_instance(http: httpx.Client, clerk: dict[str, str], reviewer: dict[str, str], body: dict[str, object]
                 ) -> tuple[float, dict[str, float]]:
    """Run one whole share request; return ms of the instance and of each request."""
    t0 = time.perf_counter()
    r = _check(http.post("/api/share-requests", json=body, headers=clerk), "submit")
    instance_id = r.json()["instance_id"]
    t1 = time.perf_counter()
    r = _check(http.get("/api/tasks", params={"view": "todo", "limit": 100}, headers=reviewer), "inbox")
    task = next((t for t in r.json()["items"] if t["instance_id"] == instance_id), None)
    if task is None:
        raise Failed(f"inbox: the task of instance {instance_id} is not in the reviewer's first page")
    t2 = time.perf_counter()
    _check(http.post(f"/api/tasks/{task['id']}/complete", headers=reviewer,
                     json={"data": {"decision": "approve", "terms": "按约使用"}}), "complete")
    t3 = time.perf_counter()
    return (t3 - t0) * 1000, {"submit": (t1 - t0) * 1000, "inbox": (t2 - t1) * 1000, "complete": (t3 - t2) * 1000}


def client(url: str, route: tuple[str, str, str, list[str]], start: threading.Barrier,
           window: dict[str, float], results: Results) -> None:
    """Loop whole instances until window["stop"]; record those run inside the window (after warm-up)."""
    clerk_name, reviewer_name, entry, items = route
    body = {**BODY, "entry_code": entry, "items": items}
    with httpx.Client(base_url=url, timeout=60) as http:
        try:
            clerk, reviewer = login(http, clerk_name), login(http, reviewer_name)
        except (Failed, httpx.HTTPError) as exc:
            with results.lock:
                results.errors.append(f"{type(exc).__name__}: {exc}")
            start.wait()
            return
        start.wait()
        measure_from, stop_at = window["measure_from"], window["stop"]
        while time.perf_counter() < stop_at:
            began = time.perf_counter()
            try:
                total, steps = one_instance(http, clerk, reviewer, body)
            except (Failed, httpx.HTTPError, ValueError, KeyError) as exc:
                with results.lock:
                    results.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            if began >= measure_from and time.perf_counter() <= stop_at:
                with results.lock:
                    results.instances.append(total)
                    for kind, ms in steps.items():
                        results.steps[kind].append(ms)


def run_clients(url: str, clients: int, seconds: float, warmup: float) -> tuple[Results, float]:
    """Run the clients for warmup + seconds; return results and the measured wall seconds."""
    results = Results()
    window: dict[str, float] = {}

    def open_window() -> None:
        # Run once every client has logged in, before any passes the barrier.
        window["measure_from"] = time.perf_counter() + warmup
        window["stop"] = window["measure_from"] + seconds

    start = threading.Barrier(clients + 1, action=open_window)
    threads = [threading.Thread(target=client, args=(url, ROUTES[i % len(ROUTES)], start, window, results),
                                daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    for t in threads:
        t.join()
    return results, seconds


def start_service(db_url: str, port: int, workers: int, time_travel: bool) -> subprocess.Popen[bytes]:
    """Migrate and seed the database (as `make run`), then start uvicorn with the given workers."""
    env = {**os.environ, "GOVFLOW_DATABASE_URL": db_url, "GOVFLOW_RUN_SCHEDULER": "false",
           "GOVFLOW_ENVIRONMENT": "development", "GOVFLOW_ENABLE_TIME_TRAVEL": str(time_travel).lower()}
    py = sys.executable
    for command in ("migrate", "seed-demo"):
        subprocess.run([py, "-m", "app.cli", command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    proc = subprocess.Popen([py, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port),
                             "--host", "127.0.0.1", "--workers", str(workers), "--log-level", "warning"],
                            cwd=ROOT, env=env, stderr=service_log())
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/login", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("service exited at start-up")
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("service did not start")


def pg_database(admin_url: str, prefix: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def bench_one(kind: str, args: argparse.Namespace) -> dict[str, object]:
    """Start a fresh service on one database, run the clients, stop it; return the figures."""
    pg_name = None
    tmp = None
    if kind == "sqlite":
        tmp = tempfile.mkdtemp(prefix="govflow-throughput-", dir=args.tmp_dir)
        db_url = f"sqlite:///{tmp}/bench.db"
    else:
        pg_name, db_url = pg_database(args.pg_url, args.pg_prefix)
    proc = None
    try:
        proc = start_service(db_url, args.port, args.workers, args.time_travel)
        url = f"http://127.0.0.1:{args.port}"
        load_before = os.getloadavg()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        results, seconds = run_clients(url, args.clients, args.seconds, args.warmup)
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        load_after = os.getloadavg()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        if pg_name is not None:
            drop_pg_database(args.pg_url, pg_name)
    bench_cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    inst = results.instances
    p50, p95 = percentile(inst, 0.5), percentile(inst, 0.95)
    return {
        "database": kind, "clients": args.clients, "workers": args.workers, "seconds": seconds,
        "time_travel": args.time_travel, "instances": len(inst),
        "instances_per_s": round(len(inst) / seconds, 1),
        "instance_p50_ms": round(p50, 1), "instance_p95_ms": round(p95, 1),
        "p95_over_p50": round(p95 / p50, 2) if p50 else None,
        "requests": {k: {"p50_ms": round(percentile(v, 0.5), 1), "p95_ms": round(percentile(v, 0.95), 1),
                         "p95_over_p50": round(percentile(v, 0.95) / percentile(v, 0.5), 2) if v else None}
                     for k, v in results.steps.items()},
        "errors": len(results.errors), "first_errors": results.errors[:MAX_ERRORS_SHOWN],
        # Over warm-up and measurement: the clients' share of the machine's CPUs.
        "bench_cpu_s": round(bench_cpu, 1), "bench_cpu_share": round(bench_cpu / (seconds + args.warmup), 2),
        "cpus": os.cpu_count(), "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds per database")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds run first and not counted")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--time-travel", action="store_true",
                        help="enable the demo clock (as `make run`): every request then reads it")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="any database on the server; the benchmark creates and drops its own")
    parser.add_argument("--pg-prefix", default="govflow_bench_tp", help="name prefix of that database")
    parser.add_argument("--tmp-dir", default=None, help="folder for the SQLite file (default: system temp)")
    args = parser.parse_args()
    if args.tmp_dir:
        Path(args.tmp_dir).mkdir(parents=True, exist_ok=True)
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    print(f"# {args.clients} client threads (this process) + {args.workers} uvicorn workers on "
          f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}. Clients and service share the "
          f"machine: figures drop as the load rises.", flush=True)
    for kind in kinds:
        out = bench_one(kind, args)
        print(json.dumps(out, ensure_ascii=False), flush=True)
        req = out["requests"]
        print(f"{kind}: {out['instances_per_s']} instances/s ({out['instances']} in {out['seconds']:.0f} s); "
              f"instance p50 {out['instance_p50_ms']} ms p95 {out['instance_p95_ms']} ms "
              f"(p95/p50 {out['p95_over_p50']}); "
              + ", ".join(f"{k} {v['p50_ms']}/{v['p95_ms']} ms" for k, v in req.items())  # type: ignore[union-attr]
              + f" (p50/p95); errors {out['errors']}; bench CPU {out['bench_cpu_share']} of a core; "
              f"load {out['load_before'][0]} → {out['load_after'][0]} on {out['cpus']} CPUs", flush=True)
        for error in out["first_errors"]:  # type: ignore[union-attr]
            print(f"  error: {error}", flush=True)


if __name__ == "__main__":
    main()
