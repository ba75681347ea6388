"""Benchmark: Art. 12 usage events ingested through the real HTTP endpoint, POST /api/usage/events.

On a fresh PostgreSQL database (migrated, the Henan demo seeded) it creates G grants between the demo
departments and one exchange system (its credentials), starts the service with uvicorn on a local port,
and posts N batches of 10,000 events each (HTTP Basic, bodies encoded before the clock starts) from C
concurrent clients. About 5 % of the events fall outside their grant (a day before its period, an item not
granted), so the flag path (usage_flag rows, notifications) runs too; every 10th batch is a resend of an
earlier one, counted as duplicates. Printed: events/s over the posting (goal ≥ 20,000/s on PostgreSQL),
the share flagged, and the per-batch median, as one JSON line and one readable line.

    .venv/bin/python bench/usage_ingest.py                              # 20 batches, 1 client
    .venv/bin/python bench/usage_ingest.py --batches 40 --clients 2 --db-prefix govflow_bench_usage_ --keep
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import _dataset as ds  # noqa: E402  (bench/ is this script's own folder on sys.path)

GOAL = 20_000
BATCH = 10_000
SECRET = "x" * 40
ITEMS = ["统一社会信用代码", "企业名称", "法定代表人", "注册资本", "成立日期"]


def prepare(url: str, grants: int) -> tuple[list[dict[str, Any]], str, str]:
    """Migrate, seed the demo, add grants and an exchange system; return the grants and its credentials."""
    from app.catalog.models import CatalogEntry
    from app.cli import migrate
    from app.core.config import Settings
    from app.org.models import Department, User
    from app.org.seed import load_demo
    from app.runtime import build_runtime
    from app.sharing.models import ShareGrant, ShareRequest
    from app.startup import prepare as prepare_runtime
    from app.usage.flows import hash_secret
    from app.usage.models import SystemClient

    migrate(url)
    rt = build_runtime(Settings(environment="test", database_url=url, secret_key=SECRET))
    prepare_runtime(rt)
    now = datetime.now(timezone.utc)
    today = now.date()
    with rt.db.session() as session:
        load_demo(session, rt.settings.province_code)
        session.flush()
        departments = session.execute(select(Department.id, Department.code).where(
            Department.kind == "department")).all()
        authority = session.execute(select(Department.id).where(Department.code == "410000-data")).scalar_one()
        entry = session.execute(select(CatalogEntry.id)).scalars().first()
        user = session.execute(select(User.id)).scalars().first()
        requests, grant_rows = [], []
        for i in range(grants):
            provider, consumer = random.sample(departments, 2)
            requests.append(dict(entry_id=entry, requester_department_id=consumer[0],
                                 provider_department_id=provider[0], requested_by_id=user, items=ITEMS[:3],
                                 purpose="基准测试", scope="基准测试", period_from=today - timedelta(days=200),
                                 period_to=today + timedelta(days=200), method="api", legal_basis="基准测试",
                                 status="granted", created_at=now))
        ids = session.execute(insert(ShareRequest.__table__).returning(  # type: ignore[attr-defined]
            ShareRequest.__table__.c.id, sort_by_parameter_order=True), requests).scalars().all()  # type: ignore[attr-defined]
        for rid, r in zip(ids, requests, strict=True):
            grant_rows.append(dict(share_request_id=rid, entry_id=entry, consumer_department_id=r["requester_department_id"],
                                   provider_department_id=r["provider_department_id"], items=ITEMS[:3], method="api",
                                   valid_from=r["period_from"], valid_to=r["period_to"], basis="review",
                                   created_at=now))
        grant_ids = session.execute(insert(ShareGrant.__table__).returning(  # type: ignore[attr-defined]
            ShareGrant.__table__.c.id, sort_by_parameter_order=True), grant_rows).scalars().all()  # type: ignore[attr-defined]
        secret = "bench-" + uuid.uuid4().hex
        session.execute(insert(SystemClient.__table__).values(  # type: ignore[attr-defined]
            code="bench-exchange", name="基准测试交换平台", department_id=authority, scopes=["usage:report"],
            secret_hash=hash_secret(secret), is_active=True, created_by="bench", created_at=now))
        session.commit()
    rt.db.dispose()
    out = [{"id": g, "valid_from": r["period_from"]} for g, r in zip(grant_ids, requests, strict=True)]
    return out, "bench-exchange", secret


def batches(grants: list[dict[str, Any]], n: int, flag_share: float) -> list[bytes]:
    """Encode n batches of 10,000 events (every 10th batch a resend of the one before)."""
    rng = random.Random(12)
    now = datetime.now(timezone.utc)
    bodies: list[bytes] = []
    for b in range(n):
        if b % 10 == 9:
            bodies.append(bodies[-1])
            continue
        events = []
        for i in range(BATCH):
            g = rng.choice(grants)
            at = now - timedelta(seconds=rng.randrange(1, 90 * 86400))
            items = ITEMS[:2]
            if rng.random() < flag_share:
                if rng.random() < 0.5:
                    items = ["企业名称", "注册资本"]  # an item not granted
                else:
                    at = datetime.combine(g["valid_from"] - timedelta(days=1), datetime.min.time(), timezone.utc)
            events.append({"event_id": f"b{b}-{i}", "grant_id": g["id"], "items": items,
                           "rows": rng.randrange(1, 500), "method": "api", "occurred_at": at.isoformat(),
                           "requesting_system": "业务系统", "requesting_user": f"op-{rng.randrange(1000)}"})
        bodies.append(json.dumps({"events": events}, ensure_ascii=False).encode("utf-8"))
    return bodies


SERVER_LOG = Path(os.environ.get("TMPDIR", "/tmp")) / "govflow-bench-usage-server.log"


def serve(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GOVFLOW_DATABASE_URL": url, "GOVFLOW_SECRET_KEY": SECRET, "GOVFLOW_ENVIRONMENT": "test",
           "GOVFLOW_RUN_SCHEDULER": "false", "GOVFLOW_LOG_FORMAT": "text"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host",
                             "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=SERVER_LOG.open("wb"))  # the service's access log, read on errors
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the service did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20, help="batches of 10,000 events (default 20)")
    parser.add_argument("--clients", type=int, default=1, help="concurrent posting clients (default 1)")
    parser.add_argument("--grants", type=int, default=500, help="grants the events use (default 500)")
    parser.add_argument("--flag-share", type=float, default=0.05, help="share of events outside their grant")
    parser.add_argument("--port", type=int, default=8141)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="any database on the server; the benchmark creates and drops its own")
    parser.add_argument("--db-prefix", default="govflow_bench_usage_", help="prefix of the database's name")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    name = f"{args.db_prefix}{uuid.uuid4().hex[:10]}"
    url = ds.create_database(args.pg_url, name)
    proc = None
    try:
        grants, code, secret = prepare(url, args.grants)
        bodies = batches(grants, args.batches, args.flag_share)
        proc = serve(url, args.port)
        headers = {"Authorization": "Basic " + base64.b64encode(f"{code}:{secret}".encode()).decode(),
                   "Content-Type": "application/json"}
        results: list[dict[str, Any]] = []
        durations: list[float] = []
        lock = threading.Lock()
        queue = list(enumerate(bodies))

        def worker() -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=300) as client:
                while True:
                    with lock:
                        if not queue:
                            return
                        _, body = queue.pop(0)
                    t0 = time.perf_counter()
                    r = client.post("/api/usage/events", content=body, headers=headers)
                    with lock:
                        durations.append(time.perf_counter() - t0)
                        if r.status_code != 200:
                            results.append({"error": r.status_code, "body": r.text[:300]})
                        else:
                            results.append(r.json())

        threads = [threading.Thread(target=worker) for _ in range(args.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - t0
        errors = [r for r in results if "error" in r]
        accepted = sum(r.get("accepted", 0) for r in results)
        duplicates = sum(r.get("duplicates", 0) for r in results)
        flagged = sum(r.get("flagged", 0) for r in results)
        events = args.batches * BATCH
        report = {"benchmark": "usage_ingest", "batches": args.batches, "clients": args.clients, "events": events,
                  "seconds": round(seconds, 2), "events_per_second": round(events / seconds),
                  "goal_events_per_second": GOAL, "accepted": accepted, "duplicates": duplicates,
                  "flagged": flagged, "flagged_share": round(flagged / accepted, 4) if accepted else 0,
                  "batch_median_ms": round(statistics.median(durations) * 1000, 1), "errors": len(errors),
                  "grants": args.grants, "cpus": os.cpu_count(), "load_average": round(os.getloadavg()[0], 2),
                  "database": name if args.keep else None}
        print(json.dumps(report, ensure_ascii=False))
        for e in errors[:3]:
            print(f"error: {e} (service log: {SERVER_LOG})", file=sys.stderr)
        print(f"usage_ingest: {events} events in {seconds:.1f} s = {events / seconds:,.0f} events/s "
              f"(goal ≥ {GOAL:,}/s), accepted {accepted}, duplicates {duplicates}, flagged {flagged} "
              f"({report['flagged_share']:.1%}), median batch {report['batch_median_ms']} ms, "
              f"{args.clients} client(s), load {report['load_average']} on {os.cpu_count()} CPUs")
        return 0 if not errors else 1
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        if not args.keep:
            ds.drop_database(args.pg_url, name)


if __name__ == "__main__":
    sys.exit(main())
