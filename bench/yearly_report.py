"""Benchmark: the yearly evaluation (Art. 18) of a province-sized year on PostgreSQL.

Builds its own database (the Henan organisation of bench/_dataset.py: line departments of the province,
every city and county, offices and authorities, the demo people), then COPY of one year's records:
--requests share requests (1,000,000 by default) spread over the year between the departments (Zipf-like,
as bench/_dataset.py), a few catalog entries per department, disputes (1/50 of the requests), rectification
notices (1/100), supervision items with their instances and tasks (1/20), and each department's published
open list; then VACUUM ANALYZE. It prints the seconds to compute the province's report and one city's
(郑州, 410100) through app/reports/service.compute, median of 3 (target: under 5 s).

    .venv/bin/python bench/yearly_report.py                      # 1M share requests (build ~1-2 min)
    .venv/bin/python bench/yearly_report.py --requests 100000    # a quicker look
    .venv/bin/python bench/yearly_report.py --keep / --reuse     # keep the database / measure it again

Database: govflow_bench_yearly_<requests> on the server of --pg-url, dropped afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _dataset as ds  # noqa: E402

YEAR = 2025
SHANGHAI_OFFSET = timedelta(hours=8)


def _when(rng: random.Random) -> datetime:
    """A random instant of YEAR (Asia/Shanghai), as UTC."""
    start = datetime(YEAR, 1, 1, tzinfo=timezone.utc) - SHANGHAI_OFFSET
    return start + timedelta(seconds=rng.randrange(365 * 86400))


def load(rt, org: ds.Organisation, n: int, seed: int = 18) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """COPY one year of records; return the row counts and seconds."""
    rng = random.Random(seed)
    t0 = time.perf_counter()
    counts: dict[str, Any] = {}
    now = datetime.now(timezone.utc)
    specs = ds.task_specs(rt)
    definition_id, share_specs = specs["sharing_share_request"]
    providers = ds.Weighted(rng, org.line)
    requesters = ds.Weighted(rng, org.line)
    raw = rt.db.engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            start_id = cur.execute("SELECT coalesce(max(id), 0) FROM catalog_entry").fetchone()[0]
            entries: list[tuple[int, int]] = []
            rows = []
            kinds = ["unconditional"] * 5 + ["conditional"] * 4 + ["not_shared"]
            for dept in org.line:
                for k in range(5):
                    start_id += 1
                    share_type = rng.choice(kinds)
                    basis = None if share_type == "unconditional" or rng.random() < 0.1 else "《河南省政务数据管理办法》"
                    rows.append((start_id, f"bench-{dept}-{k}", f"数据资源{dept}-{k}", "基准测试数据", "数据库",
                                 share_type, "依申请" if share_type == "conditional" else None, '["api"]', basis,
                                 False, "每日", "非涉密", dept, '[{"name": "姓名", "type": "字符型"}]', "published",
                                 now - timedelta(days=800), now - timedelta(days=800)))
                    entries.append((start_id, dept))
            counts["catalog_entry"] = ds._copy(cur, "catalog_entry", [
                "id", "code", "name", "summary", "format", "share_type", "share_conditions", "share_methods",
                "legal_basis", "open_to_public", "update_cycle", "classification", "department_id", "items",
                "status", "created_at", "updated_at"], rows)
            by_dept: dict[int, list[int]] = {}
            for entry_id, dept in entries:
                by_dept.setdefault(dept, []).append(entry_id)

            statuses = ["granted"] * 60 + ["refused"] * 15 + ["under_review"] * 5 + ["withdrawn"] * 5 + \
                ["granted_auto"] * 15
            requests: list[tuple[int, int, int, int, str]] = []

            def share_rows():  # type: ignore[no-untyped-def]
                for i in range(1, n + 1):
                    provider = providers.draw()
                    requester = requesters.draw()
                    if requester == provider:
                        requester = org.line[-1] if provider != org.line[-1] else org.line[0]
                    entry = rng.choice(by_dept[provider])
                    status = rng.choice(statuses)
                    created = _when(rng)
                    decided = status in ("granted", "refused", "granted_auto")
                    auto = status == "granted_auto"
                    decided_at = created if auto else created + timedelta(seconds=rng.randrange(600, 12 * 86400))
                    basis = ("《户口登记条例》" if rng.random() < 0.8 else None) if status == "refused" else None
                    if status == "refused" and len(requests) < n // 50:
                        requests.append((i, entry, requester, provider, created.isoformat()))
                    yield (i, entry, requester, provider, org.holders[(requester, "clerk")], '["姓名"]',
                           "履行职责需要", "本部门业务", created.date(), (created + timedelta(days=365)).date(), "api",
                           "法定职责", "granted" if auto else status,
                           ("approve" if status != "refused" else "refuse") if decided else None,
                           "依据不足" if status == "refused" else None, basis,
                           ("system" if auto else "bench") if decided else None, decided_at if decided else None,
                           created)
            counts["share_request"] = ds._copy(cur, "share_request", [
                "id", "entry_id", "requester_department_id", "provider_department_id", "requested_by_id", "items",
                "purpose", "scope", "period_from", "period_to", "method", "legal_basis", "status", "decision",
                "refusal_reason", "refusal_basis", "decided_by", "decided_at", "created_at"], share_rows())

            # Disputes over refused requests (1/50 of the requests), each ended one way or another.
            d_status = ["negotiating"] * 20 + ["coordinating"] * 10 + ["settled"] * 30 + ["decided"] * 20 + \
                ["complied"] * 20
            rows = []
            for i, (sid, entry, requester, provider, created_iso) in enumerate(requests, start=1):
                status = rng.choice(d_status)
                created = datetime.fromisoformat(created_iso) + timedelta(days=3)
                resolution = {"settled": "settlement", "decided": "adjudication", "complied": "adjudication"}.get(status)
                outcome = rng.choice(["share", "not_share"]) if resolution else None
                if status == "complied":
                    outcome = "share"
                rows.append((i, sid, entry, requester, provider, org.authority_of[provider],
                             org.holders[(requester, "clerk")], "refused", '["姓名"]', "法定职责", "核验需要", status,
                             created + timedelta(days=14), 1, resolution, outcome, created, created,
                             created + timedelta(days=30) if resolution else None))
            counts["dispute"] = ds._copy(cur, "dispute", [
                "id", "share_request_id", "entry_id", "requester_department_id", "provider_department_id",
                "authority_department_id", "opened_by_id", "kind", "items", "duties", "need", "status",
                "negotiation_due_at", "negotiation_rounds", "resolution", "outcome", "created_at", "updated_at",
                "closed_at"], rows)

            # Rectification notices (1/100).
            n_status = ["rectifying"] * 20 + ["reported"] * 10 + ["accepted"] * 55 + ["exempted"] * 10 + \
                ["withdrawn"] * 5
            seq: dict[int, int] = {}
            rows = []
            for i in range(1, n // 100 + 1):
                dept = providers.draw()
                authority = org.authority_of[dept]
                seq[authority] = seq.get(authority, 0) + 1
                issued = _when(rng)
                status = rng.choice(n_status)
                rows.append((i, f"{authority}整改〔{YEAR}〕{seq[authority]}号", authority, YEAR, seq[authority], dept,
                             rng.randint(1, 6), "未按照要求更新目录", "限期更新并报告", 15, 15, False, status, 1,
                             org.authority_users[authority], issued,
                             issued + timedelta(days=20) if status in ("accepted", "exempted", "withdrawn") else None))
            counts["rectification_notice"] = ds._copy(cur, "rectification_notice", [
                "id", "number", "authority_department_id", "year", "seq", "department_id", "article_item", "facts",
                "requirements", "deadline_working_days", "round_working_days", "due_provisional", "status", "round",
                "issued_by_id", "issued_at", "closed_at"], rows)

            # Supervision items (1/20), each for an overdue review task of its own instance.
            m = n // 20
            spec = share_specs[0]
            instances, tasks, items = [], [], []
            for i in range(1, m + 1):
                dept = providers.draw()
                started = _when(rng)
                due = started + timedelta(days=7)
                instances.append((i, definition_id, "sharing_share_request", "running", "{}", 1, f"督办基准{i}", None,
                                  org.clerks[0], dept, started, started, None))
                tasks.append((i, i, "sharing_share_request", f"{i}-0", spec.task_spec, spec.name, dept, "reviewer",
                              None, "open", "5WD", 5, due, None, None, False, spec.form, None, started, None, None))
                state = "open" if rng.random() < 0.6 else "closed"
                items.append((i, i, i, "sharing_share_request", spec.name, f"督办基准{i}", dept, org.office_of[dept],
                              org.level[dept], due, due + timedelta(days=1), 1, state, 0,
                              due + timedelta(days=5) if state == "closed" else None,
                              "task_done" if state == "closed" else None))
            counts["process_instance"] = ds._copy(cur, "process_instance", [
                "id", "definition_id", "process_key", "status", "state", "lock_version", "subject", "business_ref",
                "started_by_id", "department_id", "started_at", "updated_at", "ended_at"], instances)
            counts["task"] = ds._copy(cur, "task", [
                "id", "instance_id", "process_key", "spiff_task_id", "task_spec", "name", "department_id", "role",
                "assignee_id", "status", "due_rule", "due_working_days", "due_at", "paused_at", "escalated_at",
                "due_provisional", "form", "data", "created_at", "completed_at", "completed_by_id"], tasks)
            counts["supervision_item"] = ds._copy(cur, "supervision_item", [
                "id", "task_id", "instance_id", "process_key", "task_name", "subject", "department_id",
                "office_department_id", "level", "due_at", "escalated_at", "overdue_working_days", "state",
                "urge_count", "closed_at", "close_reason"], items)

            # Each department's published open list of the year, with its entries.
            lists, list_items = [], []
            item_id = 0
            for i, dept in enumerate(org.line, start=1):
                published = datetime(YEAR, 3, 1, tzinfo=timezone.utc)
                lists.append((i, dept, YEAR, 1, "published", 1, org.holders[(dept, "clerk")], published, published,
                              published, "bench"))
                for entry_id in by_dept[dept]:
                    item_id += 1
                    list_items.append((item_id, i, 0, entry_id, f"bench-{dept}-{item_id}", "数据资源", "社会发展", "摘要",
                                       '["姓名"]', "CSV", rng.choice(["unconditional", "conditional", "not_open"]),
                                       "每月", published, published))
            counts["open_list"] = ds._copy(cur, "open_list", [
                "id", "department_id", "year", "version", "status", "review_rounds", "created_by_id", "created_at", "updated_at",
                "published_at", "published_by"], lists)
            counts["open_list_item"] = ds._copy(cur, "open_list_item", [
                "id", "open_list_id", "position", "entry_id", "entry_code", "entry_name", "data_domain", "summary",
                "data_items", "data_format", "open_type", "update_frequency", "created_at", "updated_at"], list_items)
        conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
        conn.autocommit = False
    finally:
        raw.close()
    counts["load_seconds"] = round(time.perf_counter() - t0, 1)
    return counts


def measure(url: str, region_code: str, repeats: int = 3) -> tuple[float, dict[str, Any]]:
    """Compute a level's report `repeats` times; return the median seconds and the last report."""
    from app.reports import service
    from app.runtime import build_runtime

    rt = build_runtime(ds.settings_for(url))
    times, report = [], {}
    try:
        as_of = datetime(YEAR + 1, 1, 15, tzinfo=timezone.utc)
        for _ in range(repeats):
            with rt.db.session() as session:
                calendar = rt.calendar.get(session)
                t0 = time.perf_counter()
                report = service.compute(session, calendar, year=YEAR, region_code=region_code, as_of=as_of)
                times.append(time.perf_counter() - t0)
    finally:
        rt.db.dispose()
    return statistics.median(times), report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000, help="share requests in the year (default 1000000)")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="any database on the server; the benchmark creates and drops its own")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database (migrated, analyzed)")
    args = parser.parse_args()
    name = f"govflow_bench_yearly_{args.requests}"
    try:
        if args.reuse and ds.database_exists(args.pg_url, name):
            from app.cli import migrate

            url = ds.database_url(args.pg_url, name)
            migrate(url)
            print(f"reusing {name}", flush=True)
        else:
            url = ds.create_database(args.pg_url, name)
            t0 = time.perf_counter()
            rt = ds.prepare(url)
            org = ds.organisation(rt)
            try:
                counts = load(rt, org, args.requests)
            finally:
                rt.db.dispose()
            counts.update(build_seconds=round(time.perf_counter() - t0, 1), line_departments=len(org.line))
            print(f"dataset: {json.dumps(counts, ensure_ascii=False)}", flush=True)
        results = []
        for label, region in (("province 410000", "410000"), ("city 410100 (郑州)", "410100")):
            seconds, report = measure(url, region)
            t = report["totals"]
            results.append(seconds)
            print(f"{label:20} {seconds:6.2f} s (median of 3)  departments={len(report['departments'])} "
                  f"received={t['requests_received']} on_time_rate={t['on_time_rate']} refused={t['refused']} "
                  f"disputes={t['disputes_as_provider']} notices={t['notices_received']} "
                  f"escalations={t['escalations']} open_items={t['open_items_published']}", flush=True)
    finally:
        if not args.keep:
            ds.drop_database(args.pg_url, name)
        else:
            print(f"kept database {name}", file=sys.stderr)
    ok = all(s < 5 for s in results)
    print(f"target: under 5 s each -> {'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
