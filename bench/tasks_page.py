"""Benchmark: the inbox PAGE (GET /tasks) against the API list (GET /api/tasks) for the same rows.

Builds a small dataset on a fresh PostgreSQL database (bench/_dataset.py at --tasks tasks, 10 % open; the
busiest reviewer, gat_reviewer, holds ~15 % of the open ones, so 20,000 tasks give ~300 open tasks in his
inbox), then drives the app in-process with Starlette's TestClient, as that reviewer: a page login for
GET /tasks, a bearer token for GET /api/tasks (both list the first 100 rows of 待办 in deadline order).
Warm-up calls, then --n calls of each, alternating, so machine load hits both alike. Prints the median and
p95 of each and the ratio page/API (target: <= 2). --profile prints the cProfile of --n page calls instead.

    .venv/bin/python bench/tasks_page.py                    # builds tp_t20000, measures, drops it
    .venv/bin/python bench/tasks_page.py --keep             # keep the database ...
    .venv/bin/python bench/tasks_page.py --reuse --runs 3   # ... measure it again, three runs
    .venv/bin/python bench/tasks_page.py --reuse --profile  # where the page's time goes
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _dataset as ds  # noqa: E402
from inbox_scale import login, percentile, prepare_database  # noqa: E402

TARGET_RATIO = 2.0


def measure(url: str, n: int, warmup: int, runs: int, profile: bool) -> int:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.runtime import build_runtime

    settings = ds.settings_for(url)
    rt = build_runtime(settings)
    app = create_app(settings, rt)
    failed = 0
    with TestClient(app, follow_redirects=False) as client:
        api = login(client, ds.HOT_REVIEWER, "api")
        login(client, ds.HOT_REVIEWER, "page")  # the page session cookie stays on the client
        page_rows = client.get("/tasks").text.count('data-task="')
        api_rows = len(client.get("/api/tasks", headers=api).json()["items"])
        print(f"rows: page {page_rows}, API {api_rows}", flush=True)
        for _ in range(warmup):
            assert client.get("/tasks").status_code == 200
            assert client.get("/api/tasks", headers=api).status_code == 200
        if profile:
            import cProfile
            import pstats

            import fastapi.dependencies.utils
            import fastapi.routing
            from starlette.concurrency import run_in_threadpool

            # The route and its dependencies run in the thread pool, out of the main thread's profiler:
            # each call is profiled in the thread that runs it.
            profiler = cProfile.Profile()

            async def profiled(func, *args, **kwargs):  # type: ignore[no-untyped-def]
                return await run_in_threadpool(profiler.runcall, func, *args, **kwargs)

            fastapi.routing.run_in_threadpool = profiled  # type: ignore[assignment]
            fastapi.dependencies.utils.run_in_threadpool = profiled  # type: ignore[assignment]
            for _ in range(n):
                client.get("/tasks")
            fastapi.routing.run_in_threadpool = run_in_threadpool
            fastapi.dependencies.utils.run_in_threadpool = run_in_threadpool
            stats = pstats.Stats(profiler).sort_stats("cumulative")
            stats.print_stats(60)
            stats.sort_stats("tottime").print_stats(40)
            rt.db.dispose()
            return 0
        ratios = []
        for run in range(1, runs + 1):
            page: list[float] = []
            listing: list[float] = []
            for _ in range(n):
                t0 = time.perf_counter()
                r = client.get("/tasks")
                page.append((time.perf_counter() - t0) * 1000)
                failed += r.status_code != 200
                t0 = time.perf_counter()
                r = client.get("/api/tasks", headers=api)
                listing.append((time.perf_counter() - t0) * 1000)
                failed += r.status_code != 200
            ratio = statistics.median(page) / statistics.median(listing)
            ratios.append(ratio)
            print(f"run {run}: GET /tasks p50 {statistics.median(page):6.1f} ms p95 {percentile(page, 0.95):6.1f} ms"
                  f" | GET /api/tasks p50 {statistics.median(listing):6.1f} ms p95 {percentile(listing, 0.95):6.1f} ms"
                  f" | ratio {ratio:.2f} (load {os.getloadavg()[0]:.1f})", flush=True)
    rt.db.dispose()
    median = statistics.median(ratios)
    print(f"median ratio over {runs} run(s): {median:.2f} (target <= {TARGET_RATIO:.0f}); "
          f"{'OK' if median <= TARGET_RATIO else 'ABOVE TARGET'}; errors {failed}")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks of the dataset (default 20000)")
    parser.add_argument("--n", type=int, default=200, help="timed calls of each (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed calls of each first (default 10)")
    parser.add_argument("--runs", type=int, default=1, help="measure this many times (default 1)")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="any database on the server; the benchmark creates and drops its own")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure the kept database instead of building it")
    parser.add_argument("--profile", action="store_true", help="print the cProfile of --n page calls")
    args = parser.parse_args()
    name = f"tp_t{args.tasks}"
    try:
        url, counts = prepare_database(args.pg_url, name, args.tasks, args.reuse)
        print(f"dataset {name}: {counts}", flush=True)
        return measure(url, args.n, args.warmup, args.runs, args.profile)
    finally:
        if not args.keep:
            ds.drop_database(args.pg_url, name)


if __name__ == "__main__":
    raise SystemExit(main())
