"""Benchmark: every list call at 1,000 and at 1,000,000 tasks on PostgreSQL, through the API, in-process.

Builds each dataset itself on a fresh PostgreSQL database (bench/_dataset.py: the Henan organisation, the
demo people, then COPY of N tasks of which N/10 open, their instances, share requests, disputes,
rectification notices, supervision items, notifications, copies and catalog versions; then VACUUM ANALYZE)
and prints the build time. Then, per dataset, the app (app.main.create_app on that database) is driven
in-process with Starlette's TestClient, as the people who see the most (bearer tokens from
/api/auth/token; the pages with a page login): warm-up calls, then p50/p95 over --n calls of the first page
and of the page after (the response's next_cursor when it has one, else offset=100; for a page, its
下一页 link carrying a cursor). The SQL statements of each call are captured (before_cursor_execute) and
counted; at the big size the EXPLAIN (ANALYZE, BUFFERS) of each distinct statement is printed
(--no-explain to skip). The summary compares with the targets: p95 <= 20 ms at 1M and <= 2x the 1k figure.

    .venv/bin/python bench/inbox_scale.py                        # 1k and 1M tasks (builds take minutes)
    .venv/bin/python bench/inbox_scale.py --tasks 100000 --n 20  # a quicker look
    .venv/bin/python bench/inbox_scale.py --keep                 # keep ib_1k_t1000 and ib_1m_t1000000 ...
    .venv/bin/python bench/inbox_scale.py --reuse --no-explain   # ... and measure them again (migrated first)

Databases: ib_1k_t<small> and ib_1m_t<tasks> on the server of --pg-url, dropped afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _dataset as ds  # noqa: E402

TARGET_MS = 20.0
TARGET_RATIO = 2.0
PAGE = 100  # the offset of "the page after" when a list gives no cursor

# (label, user, path, kind): the people who see the most (bench/_dataset.py makes them the busiest).
CALLS = [
    ("todo", ds.HOT_REVIEWER, "/api/tasks", "api"),
    ("todo sort=-created_at", ds.HOT_REVIEWER, "/api/tasks?sort=-created_at", "api"),
    ("done", ds.HOT_REVIEWER, "/api/tasks?view=done", "api"),
    ("initiated", "rst_clerk", "/api/tasks?view=initiated", "api"),
    ("inbox-counts", ds.HOT_REVIEWER, "/api/me/inbox-counts", "api"),
    ("copies", ds.HOT_REVIEWER, "/api/me/copies", "api"),
    ("supervision items", "gov_supervisor", "/api/supervision/items", "api"),
    ("authority cases", "data_reviewer", "/api/authority/cases", "api"),
    ("share-requests", ds.HOT_CLERK, "/api/share-requests", "api"),
    ("disputes", "data_reviewer", "/api/disputes", "api"),
    ("rectification-notices", "data_reviewer", "/api/rectification-notices", "api"),
    ("catalog versions", "data_reviewer", "/api/catalog/versions", "api"),
    ("notifications", ds.HOT_REVIEWER, "/api/notifications", "api"),
    ("page /tasks", ds.HOT_REVIEWER, "/tasks", "page"),
    ("page /supervision", "gov_supervisor", "/supervision", "page"),
]


@dataclass
class Figures:
    p50: float | None = None
    p95: float | None = None
    statements: int | None = None
    status: int | None = None
    rows: int | None = None
    note: str = ""


@dataclass
class Result:
    first: Figures = field(default_factory=Figures)
    after: Figures = field(default_factory=Figures)
    next_by: str = ""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def _rows(body: Any) -> int | None:
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        return len(body["items"])
    return None


def _with(path: str, **params: str) -> str:
    from urllib.parse import urlencode
    return path + ("&" if "?" in path else "?") + urlencode(params)


def next_url(path: str, kind: str, response) -> tuple[str | None, str]:  # type: ignore[no-untyped-def]
    """Return the URL of the page after and how it was found: cursor, offset or none."""
    if kind == "page":
        for href in re.findall(r'href="([^"]*[?&](?:amp;)?cursor=[^"]*)"', response.text):
            return html.unescape(href), "cursor"
        return None, "none"
    body = response.json()
    if isinstance(body, dict) and "next_cursor" in body:
        return (_with(path, cursor=body["next_cursor"]), "cursor") if body["next_cursor"] else (None, "last page")
    if _rows(body) is None:
        return None, "none"
    return _with(path, offset=str(PAGE)), "offset"


class Capture:
    """Record the statements the app's engine runs while on."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        from sqlalchemy import event

        self.on = False
        self.statements: list[tuple[str, Any]] = []

        @event.listens_for(engine, "before_cursor_execute")
        def _record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            if self.on:
                self.statements.append((statement, parameters))

    def run(self, fn):  # type: ignore[no-untyped-def]
        self.statements, self.on = [], True
        try:
            return fn()
        finally:
            self.on = False


def login(client, user: str, kind: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Return the headers of a bearer token (api), or log the client in through the page form (page)."""
    if kind == "api":
        r = client.post("/api/auth/token", data={"username": user, "password": ds.DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"username": user, "password": ds.DEMO_PASSWORD, "csrf_token": token,
                                    "next": "/tasks"}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    return {}


def timed(client, url: str, headers: dict[str, str], n: int, warmup: int) -> tuple[list[float], Any]:  # type: ignore[no-untyped-def]
    last = None
    for _ in range(warmup):
        last = client.get(url, headers=headers)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        last = client.get(url, headers=headers)
        samples.append((time.perf_counter() - t0) * 1000)
    return samples, last


def measure(url: str, n: int, warmup: int, only: set[str] | None) -> tuple[dict[str, Result], dict[str, list]]:
    """Drive each list call on the database at url; return figures and the statements of each call."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.runtime import build_runtime

    settings = ds.settings_for(url)
    rt = build_runtime(settings)
    app = create_app(settings, rt)
    capture = Capture(rt.db.engine)
    results: dict[str, Result] = {}
    statements: dict[str, list] = {}
    with TestClient(app, follow_redirects=False) as client:
        for label, user, path, kind in CALLS:
            if only and label not in only:
                continue
            headers = login(client, user, kind)
            result = Result()
            for _ in range(warmup):  # the statements counted are those of a warm call (caches filled)
                client.get(path, headers=headers)
            response = capture.run(lambda: client.get(path, headers=headers))
            statements[label] = list(capture.statements)
            result.first.statements = len(capture.statements)
            result.first.status, result.first.rows = response.status_code, (
                _rows(response.json()) if kind == "api" and response.status_code == 200 else None)
            if response.status_code != 200:
                result.first.note = response.text[:300]
                results[label] = result
                print(f"  {label}: HTTP {response.status_code} {response.text[:300]}", file=sys.stderr)
                continue
            samples, response = timed(client, path, headers, n, warmup)
            result.first.p50, result.first.p95 = statistics.median(samples), percentile(samples, 0.95)
            after, result.next_by = next_url(path, kind, response)
            if after:
                for _ in range(warmup):
                    client.get(after, headers=headers)
                r = capture.run(lambda: client.get(after, headers=headers))
                statements[label + " (page after)"] = list(capture.statements)
                result.after.statements, result.after.status = len(capture.statements), r.status_code
                if r.status_code == 200:
                    result.after.rows = _rows(r.json()) if kind == "api" else None
                    samples, _ = timed(client, after, headers, n, warmup)
                    result.after.p50, result.after.p95 = statistics.median(samples), percentile(samples, 0.95)
                else:
                    result.after.note = r.text[:300]
            results[label] = result
            first = result.first
            print(f"  {label:24} p50 {first.p50:7.1f} ms  p95 {first.p95:7.1f} ms  rows {first.rows}  "
                  f"statements {first.statements}  next: {result.next_by}"
                  + (f" p95 {result.after.p95:.1f} ms" if result.after.p95 is not None else ""), flush=True)
    rt.db.dispose()
    return results, statements


def explain(url: str, statements: dict[str, list]) -> None:
    """Print the EXPLAIN (ANALYZE, BUFFERS) of each distinct SELECT (inside a transaction rolled back)."""
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    seen: set[str] = set()
    with psycopg.connect(plain) as conn:
        for label, captured in statements.items():
            repeats = Counter(" ".join(statement.split()) for statement, _ in captured)
            for statement, parameters in captured:
                key = " ".join(statement.split())
                if key in seen or not key.upper().startswith(("SELECT", "WITH")):
                    continue
                seen.add(key)
                try:
                    rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters or None).fetchall()
                    plan = "\n".join("    " + r[0] for r in rows)
                except psycopg.Error as exc:
                    plan = f"    (no plan: {str(exc).strip().splitlines()[0]})"
                conn.rollback()
                execution = re.findall(r"Execution Time: ([\d.]+) ms", plan)
                print(f"\n--- {label}: {execution[0] if execution else '?'} ms, run {repeats[key]}x in the call "
                      f"({len(captured)} statements)\n    {key[:600]}"
                      f"{' …' if len(key) > 600 else ''}\n{plan}")


def prepare_database(admin_url: str, name: str, tasks: int, reuse: bool) -> tuple[str, dict[str, Any]]:
    """Build the dataset on a fresh database, or (--reuse) migrate and analyze the one kept earlier."""
    if reuse and ds.database_exists(admin_url, name):
        from app.cli import migrate

        url = ds.database_url(admin_url, name)
        t0 = time.perf_counter()
        migrate(url)  # the code measured may bring new indexes
        import psycopg
        from sqlalchemy.engine import make_url
        with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
                             autocommit=True) as conn:
            conn.execute("ANALYZE")
        return url, {"reused": True, "migrate_analyze_seconds": round(time.perf_counter() - t0, 1)}
    url = ds.create_database(admin_url, name)
    counts = ds.build(url, tasks)
    return url, counts


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000, help="tasks of the big dataset (default 1000000)")
    parser.add_argument("--small", type=int, default=1000, help="tasks of the small dataset (default 1000)")
    parser.add_argument("--n", type=int, default=50, help="timed calls per list and page (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls first (default 5)")
    parser.add_argument("--only", action="append", help="measure only this call (label; repeatable)")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="any database on the server; the benchmark creates and drops its own")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure kept databases (migrated, analyzed) "
                                                             "instead of building them")
    parser.add_argument("--db-prefix", default="ib", help="name prefix of the two databases (default ib: "
                        "ib_1k_t1000, ib_1m_t1000000); give your own when others run it on the same server")
    parser.add_argument("--no-explain", action="store_true", help="skip the EXPLAIN of each statement")
    args = parser.parse_args()
    only = set(args.only) if args.only else None

    sizes = [("1k", args.small, f"{args.db_prefix}_1k_t{args.small}"),
             ("1M", args.tasks, f"{args.db_prefix}_1m_t{args.tasks}")]
    results: dict[str, dict[str, Result]] = {}
    builds: dict[str, Any] = {}
    for tag, tasks, name in sizes:
        print(f"{tag}: {tasks} tasks on {name}", flush=True)
        try:
            url, builds[tag] = prepare_database(args.pg_url, name, tasks, args.reuse)
            print(f"  dataset: {json.dumps(builds[tag], ensure_ascii=False)}", flush=True)
            results[tag], statements = measure(url, args.n, args.warmup, only)
            if tag == "1M" and not args.no_explain:
                print(f"\nEXPLAIN (ANALYZE, BUFFERS) of each distinct statement at {tasks} tasks:")
                explain(url, statements)
        finally:
            if not args.keep:
                ds.drop_database(args.pg_url, name)
            else:
                print(f"  kept database {name}", file=sys.stderr)

    small, big = results["1k"], results["1M"]
    print(f"\nSummary (ms; {args.n} calls after {args.warmup} warm-up; {sizes[1][1]} vs {sizes[0][1]} tasks; "
          f"targets p95 <= {TARGET_MS:.0f} ms and <= {TARGET_RATIO:.0f}x; load {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs)")
    header = (f"{'call':24} {'page':6} {'1k p50':>7} {'1k p95':>7} {'1M p50':>7} {'1M p95':>7} {'ratio':>6} "
              f"{'stmts':>9} {'rows':>9}  ok")
    print(header)
    print("-" * len(header))
    summary = []
    failures = 0
    for label, *_ in CALLS:
        if label not in big:
            continue
        for which in ("first", "after"):
            s: Figures = getattr(small.get(label, Result()), which)
            b: Figures = getattr(big[label], which)
            if b.p95 is None and which == "after":
                print(f"{label:24} {'after':6} (no page after: {big[label].next_by})")
                continue
            if s.p95 is None and which == "after":
                # The small dataset has no page after the first (fewer rows than a page): the later page at
                # 1M is held to the same call's first page at 1k, which is what a user compares it with.
                s = small[label].first if label in small else s
            ratio = b.p95 / s.p95 if b.p95 is not None and s.p95 else None
            ok = b.p95 is not None and b.p95 <= TARGET_MS and ratio is not None and ratio <= TARGET_RATIO
            failures += not ok
            how = "first" if which == "first" else big[label].next_by
            print(f"{label:24} {how:6} {fmt(s.p50):>7} {fmt(s.p95):>7} {fmt(b.p50):>7} {fmt(b.p95):>7} "
                  f"{fmt(ratio):>6} {str(s.statements) + '/' + str(b.statements):>9} {str(s.rows) + '/' + str(b.rows):>9}  "
                  f"{'yes' if ok else 'NO'}" + (f"  HTTP {b.status}" if b.status not in (200, None) else ""))
            summary.append({"call": label, "page": how, "p50_1k": _r(s.p50), "p95_1k": _r(s.p95),
                            "p50_1m": _r(b.p50), "p95_1m": _r(b.p95), "ratio_p95": _r(ratio), "statements_1k": s.statements,
                            "statements_1m": b.statements, "ok": ok})
    print(json.dumps({"benchmark": "inbox_scale", "tasks": [sizes[0][1], sizes[1][1]], "builds": builds,
                      "calls": summary, "targets_missed": failures}, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
