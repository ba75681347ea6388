"""A province-scale dataset on a fresh PostgreSQL database, bulk-loaded with COPY (bench/inbox_scale.py).

The organisation is built as bench/escalation.py builds it: line departments for the province, every city
and every county of data/regions-410000.json, a government office (督查室) in most regions, plus a data
authority in every city; a reviewer and a clerk in every line department, a supervisor in every office,
an authority reviewer in every data authority. On top of it the demo organisation (app.org.seed) with its
log-in users, which are the people whose lists are measured: they are the busiest.

Then, scaled by the number of tasks N (1,000,000 by default, of which N/10 open): process instances of
the five processes with a few tasks each (one open task per running instance, completed ones before it,
completed by the department's holder of the role, spread over 2022–2026), share requests (N/5), disputes
(N/50), rectification notices (N/100), supervision items (N/20), notifications (N/4), copies (抄送, N/20)
and catalog versions (N/50). The spread is skewed: departments are drawn with Zipf-like weights, more of
them at county level, and the province's 公安厅 reviewers hold 15 % of all open tasks (~15,000 at 1M),
as the issue measured. The instance state is a placeholder ("{}"): no list reads it (the inbox defers it).
Everything is drawn from a fixed seed, so two builds of the same size are the same.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
PROVINCE = "410000"
SECRET = "x" * 40
DEMO_PASSWORD = json.loads((ROOT / "data" / "demo-410000.json").read_text(encoding="utf-8"))["password"]
# As bench/escalation.py: regions left without a government office climb to the nearest above.
NO_OFFICE = {"411000", "411082", "410184", "411381"}
# Line departments: (code suffix, name at province level, at city/county level). The first four are
# bench/escalation.py's; the province has the first 12, a city 16, a county all 24 (data/regions-410000.json
# holds 18 cities and 11 counties, so the county level still has the most departments).
LINE_DEPARTMENTS = [("gaj", "公安厅", "公安局"), ("rsj", "人力资源和社会保障厅", "人力资源和社会保障局"),
                    ("scjg", "市场监督管理局", "市场监督管理局"), ("mzj", "民政厅", "民政局"),
                    ("jyj", "教育厅", "教育局"), ("wjw", "卫生健康委员会", "卫生健康委员会"),
                    ("zrzy", "自然资源厅", "自然资源局"), ("zjj", "住房和城乡建设厅", "住房和城乡建设局"),
                    ("jtj", "交通运输厅", "交通运输局"), ("nyj", "农业农村厅", "农业农村局"),
                    ("swj", "商务厅", "商务局"), ("ybj", "医疗保障局", "医疗保障局"),
                    ("hbj", "生态环境厅", "生态环境局"), ("slj", "水利厅", "水利局"),
                    ("czj", "财政厅", "财政局"), ("sfj", "司法厅", "司法局"),
                    ("wlj", "文化和旅游厅", "文化和旅游局"), ("tyj", "体育局", "体育局"),
                    ("tjj", "统计局", "统计局"), ("yjj", "应急管理厅", "应急管理局"),
                    ("lyj", "林业局", "林业局"), ("xfj", "信访局", "信访局"),
                    ("tyjr", "退役军人事务厅", "退役军人事务局"), ("gxj", "工业和信息化厅", "工业和信息化局")]
LINES_PER_LEVEL = {"province": 12, "city": 16, "county": 24}
ROLES = ("reviewer", "clerk")
# The measured people (demo users, they can log in) and the department whose reviewers are busiest.
HOT_DEPARTMENT = "410000-gat"
HOT_REVIEWER, HOT_CLERK = "gat_reviewer", "gat_clerk"
PROCESS_WEIGHTS = {"sharing_share_request": 60, "catalog_catalog_review": 15, "open_data_open_list_review": 13,
                   "disputes_share_dispute": 6, "rectification_notice": 6}
YEARS_BACK = 4.5  # completed work spread over the last four and a half years


def database_exists(admin_url: str, name: str) -> bool:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    admin.dispose()
    return found is not None


def database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def create_database(admin_url: str, name: str) -> str:
    """Create an empty database (dropping one of that name first); return its URL."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return database_url(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def settings_for(url: str):  # type: ignore[no-untyped-def]
    from app.core.config import Settings

    return Settings(environment="test", database_url=url, secret_key=SECRET)


def prepare(url: str, *, demo: bool = True):  # type: ignore[no-untyped-def]
    """Migrate with the app's own command, load regions and BPMN (app.startup) and the demo organisation."""
    from app.cli import migrate
    from app.org.seed import load_demo
    from app.runtime import build_runtime
    from app.startup import prepare as prepare_runtime

    migrate(url)
    rt = build_runtime(settings_for(url))
    prepare_runtime(rt)
    if demo:
        with rt.db.session() as session:
            load_demo(session, rt.settings.province_code)
            session.commit()
    return rt


@dataclass
class Organisation:
    line: list[int]  # line departments (tasks are theirs), hot department first
    level: dict[int, str]  # department -> level of its region
    region: dict[int, str]  # department -> region code
    holders: dict[tuple[int, str], int]  # (department, role) -> a user holding it
    office_of: dict[int, int]  # line department -> government office it escalates to
    authority_of: dict[int, int]  # line department -> data authority of its city (the province's above)
    authority_users: dict[int, int]  # data authority -> its authority reviewer
    users: dict[str, int] = field(default_factory=dict)  # demo username -> id
    clerks: list[int] = field(default_factory=list)


def organisation(rt) -> Organisation:  # type: ignore[no-untyped-def]
    """Create the departments and people of the province (idempotent for the demo's own rows)."""
    from app.org.models import Department, Region, User, UserRole

    now = datetime.now(timezone.utc)
    with rt.db.session() as session:
        regions = session.execute(select(Region.code, Region.name, Region.level, Region.parent_code)
                                  .order_by(Region.code)).all()
        existing = set(session.execute(select(Department.code)).scalars().all())
        rows = []
        for code, name, level, _ in regions:
            for suffix, province_name, local_name in LINE_DEPARTMENTS[:LINES_PER_LEVEL[level]]:
                rows.append(dict(code=f"{code}-{suffix}",
                                 name=name + (province_name if level == "province" else local_name),
                                 kind="department", region_code=code, is_active=True, created_at=now))
            if code not in NO_OFFICE:
                rows.append(dict(code=f"{code}-gov", name=f"{name}人民政府办公室（督查室）",
                                 kind="government_office", region_code=code, is_active=True, created_at=now))
            if level == "city":
                rows.append(dict(code=f"{code}-data", name=f"{name}政务数据主管部门", kind="data_authority",
                                 region_code=code, is_active=True, created_at=now))
        rows = [r for r in rows if r["code"] not in existing]
        session.execute(insert(Department.__table__), rows)
        session.flush()
        depts = session.execute(select(Department.id, Department.code, Department.kind, Department.region_code)
                                ).all()
        held = {(dept, role): uid for uid, dept, role in session.execute(
            select(User.id, User.department_id, UserRole.role).join(UserRole, UserRole.user_id == User.id)
            .order_by(User.id.desc()))}
        users, roles = [], []
        for dept_id, code, kind, _ in depts:
            wanted = {"department": list(ROLES), "government_office": ["supervisor"],
                      "data_authority": ["authority_reviewer"]}.get(kind, [])
            for role in wanted:
                if (dept_id, role) in held:
                    continue
                users.append(dict(username=f"{code}-{role}", password_hash="!", display_name=f"{code} {role}",
                                  department_id=dept_id, is_active=True, created_at=now))
                roles.append(role)
        ids = session.execute(insert(User.__table__).returning(User.__table__.c.id, sort_by_parameter_order=True),
                              users).scalars().all()
        session.execute(insert(UserRole.__table__), [dict(user_id=i, role=r) for i, r in zip(ids, roles)])
        for uid, row, role in zip(ids, users, roles):
            held[(row["department_id"], role)] = uid
        demo_users = dict(session.execute(select(User.username, User.id)).all())
        session.commit()
    level_of = {code: level for code, _, level, _ in regions}
    parent = {code: p for code, _, _, p in regions}
    by_code = {code: (dept_id, kind, region) for dept_id, code, kind, region in depts}
    office_by_region = {region: d for d, _, kind, region in depts if kind == "government_office"}
    authority_by_region = {region: d for d, _, kind, region in depts if kind == "data_authority"}

    def climb(region: str, table: dict[str, int]) -> int:
        while region not in table:
            region = parent[region]
        return table[region]

    line = [d for d, _, kind, _ in depts if kind == "department"]
    hot = by_code[HOT_DEPARTMENT][0]
    line = [hot] + sorted(d for d in line if d != hot)
    region_of = {d: region for d, _, _, region in depts}
    return Organisation(
        line=line, level={d: level_of[region_of[d]] for d in line}, region=region_of, holders=held,
        office_of={d: climb(region_of[d], office_by_region) for d in line},
        authority_of={d: climb(region_of[d], authority_by_region) for d in line},
        authority_users={a: held[(a, "authority_reviewer")] for a in set(authority_by_region.values())},
        users=demo_users, clerks=[held[(d, "clerk")] for d in line])


@dataclass
class Spec:
    task_spec: str
    name: str
    role: str
    form: str  # JSON, as the runner projects it


def task_specs(rt) -> dict[str, tuple[int, list[Spec]]]:  # type: ignore[no-untyped-def]
    """Return, per process, its newest definition id and its user tasks with their forms (from the deployed
    definition's metadata, as the runner projects them)."""
    from app.engine.forms import resolve_form
    from app.engine.models import ProcessDefinition

    out: dict[str, tuple[int, list[Spec]]] = {}
    with rt.db.session() as session:
        for d in session.execute(select(ProcessDefinition).order_by(ProcessDefinition.version)).scalars():
            specs = []
            for spec_id, meta in (d.meta.get("user_tasks") or {}).items():
                groups = meta.get("candidate_groups") or []
                role = groups[0] if groups and groups[0] in ROLES else "reviewer"
                specs.append(Spec(spec_id, meta.get("name") or spec_id, role,
                                  json.dumps(resolve_form(meta.get("form") or [], {}), ensure_ascii=False)))
            if specs:
                out[d.process_key] = (d.id, specs)
    return out


class Weighted:
    """Draw departments with Zipf-like weights (county departments are most of them: the tail)."""

    def __init__(self, rng: random.Random, items: list[int], skew: float = 0.9) -> None:
        self.rng, self.items = rng, items[:]
        rng.shuffle(self.items)
        self.weights = [1.0 / (k + 1) ** skew for k in range(len(self.items))]
        acc, total = [], 0.0
        for w in self.weights:
            total += w
            acc.append(total)
        self.acc, self.total = acc, total

    def draw(self) -> int:
        import bisect
        return self.items[bisect.bisect_left(self.acc, self.rng.random() * self.total)]


def _copy(cur, table: str, columns: list[str], rows) -> int:  # type: ignore[no-untyped-def]
    n = 0
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    return n


def load(rt, org: Organisation, n_tasks: int, seed: int = 410000) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Bulk-load the scaled dataset with COPY; return the row counts and seconds."""
    rng = random.Random(seed)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    specs = task_specs(rt)
    keys = [k for k in PROCESS_WEIGHTS if k in specs]
    weights = [PROCESS_WEIGHTS[k] for k in keys]
    departments = Weighted(rng, org.line[1:])
    hot = org.line[0]
    u = org.users
    hot_reviewer, hot_clerk = u[HOT_REVIEWER], u[HOT_CLERK]
    initiator = u["rst_clerk"]  # starts many cases: the 我发起的 list
    n_open = n_tasks // 10
    span = int(YEARS_BACK * 365 * 86400)
    counts: dict[str, Any] = {}
    t0 = time.perf_counter()

    # Instances and their tasks: running instances hold one open task after 0–4 completed ones; finished
    # instances hold 1–5 completed tasks. Tasks are generated per instance until N are made.
    instances: list[tuple] = []
    tasks: list[tuple] = []
    by_key: dict[str, list[int]] = {k: [] for k in keys}
    # Each process's running and finished instances: an open case takes a running one (its open task gives
    # the case its next deadline), a closed case a finished one.
    running_of: dict[str, list[int]] = {}
    finished_of: dict[str, list[int]] = {}
    open_tasks: list[tuple[int, int, str, str, int, datetime, str]] = []  # for supervision items
    task_id = 0
    instance_id = 0
    while task_id < n_tasks:
        instance_id += 1
        running = len(open_tasks) < n_open
        key = rng.choices(keys, weights)[0]
        definition_id, key_specs = specs[key]
        hot_case = running and rng.random() < 0.15 or not running and rng.random() < 0.03
        dept = hot if hot_case else departments.draw()
        size = min(rng.randint(1, 5), n_tasks - task_id)
        started = now - timedelta(seconds=rng.randrange(86400 * 3, span) if not running
                                  else rng.randrange(3600, 86400 * 60))
        starter = initiator if rng.random() < 0.03 else rng.choice(org.clerks)
        subject = f"{org.region[dept]} 第{instance_id}号 {key_specs[0].name}"
        at = started
        for k in range(size):
            task_id += 1
            spec = key_specs[k % len(key_specs)]
            role = spec.role
            is_open = running and k == size - 1
            created = at
            due = created + timedelta(days=7)
            tdept = dept if k == size - 1 or rng.random() < 0.7 else departments.draw()
            if is_open:
                if hot_case:
                    tdept, role = hot, "reviewer"
                assignee = org.holders.get((tdept, role)) if rng.random() < 0.05 else None
                tasks.append((task_id, instance_id, key, f"{instance_id}-{k}", spec.task_spec, spec.name, tdept,
                               role, assignee, "open", "5WD", 5, due, None, None, False, spec.form, None, created, None,
                               None, starter))
                open_tasks.append((task_id, instance_id, key, spec.name, tdept, due, subject))
            else:
                done = created + timedelta(seconds=rng.randrange(600, 86400 * 10))
                if done > now:
                    done = now - timedelta(seconds=rng.randrange(60, 3600))
                if hot_case and rng.random() < 0.8:
                    tdept, role = hot, "reviewer"
                worker = hot_reviewer if (tdept, role) == (hot, "reviewer") else org.holders[(tdept, role)]
                tasks.append((task_id, instance_id, key, f"{instance_id}-{k}", spec.task_spec, spec.name, tdept,
                              role, None, "completed", "5WD", 5, due, None, None, False, spec.form,
                              '{"opinion": "同意"}', created, done, worker, starter))
                at = done
        instances.append((instance_id, definition_id, key, "running" if running else "completed", "{}", 1,
                          subject, None, starter, dept, started, at, None if running else at))
        by_key[key].append(instance_id)
        (running_of if running else finished_of).setdefault(key, []).append(instance_id)

    raw = rt.db.engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            counts["process_instance"] = _copy(cur, "process_instance", [
                "id", "definition_id", "process_key", "status", "state", "lock_version", "subject", "business_ref",
                "started_by_id", "department_id", "started_at", "updated_at", "ended_at"], instances)
            counts["task"] = _copy(cur, "task", [
                "id", "instance_id", "process_key", "spiff_task_id", "task_spec", "name", "department_id", "role",
                "assignee_id", "status", "due_rule", "due_working_days", "due_at", "paused_at", "escalated_at",
                "due_provisional", "form", "data", "created_at", "completed_at", "completed_by_id",
                "initiator_id"], tasks)
            del tasks
            counts["task_open"] = len(open_tasks)

            # Catalog entries of the demo (the providers' entries).
            entries = [(i, d, [it["name"] for it in items]) for i, d, items in
                       cur.execute("SELECT id, department_id, items FROM catalog_entry ORDER BY id").fetchall()]
            share = _share_requests(cur, rng, org, entries, by_key["sharing_share_request"], n_tasks // 5, now, span)
            counts["share_request"] = len(share)
            pools = {k: (running_of.get(k, [])[:], finished_of.get(k, [])[:]) for k in keys}
            counts["dispute"] = _disputes(cur, rng, org, share, n_tasks // 50, now, span,
                                          pools.get("disputes_share_dispute", ([], [])))
            counts["rectification_notice"] = _notices(cur, rng, org, pools.get("rectification_notice", ([], [])),
                                                      n_tasks // 100, now, span)
            counts["supervision_item"] = _supervision(cur, rng, org, open_tasks, n_tasks // 20, now)
            counts["notification"] = _notifications(cur, rng, org, n_tasks // 4, now, span)
            counts["case_copy"] = _copies(cur, rng, org, instance_id, n_tasks // 20, now, span)
            counts["catalog_version"] = _versions(cur, rng, org, n_tasks // 50, now, span)
            # The instances of share requests, disputes and notices name their case (business_ref).
            cur.execute("UPDATE process_instance p SET business_ref = 'share_request:' || s.id FROM share_request s "
                        "WHERE s.instance_id = p.id")
            # The cases' next deadline, as app/authority/next_due.py keeps it (migration 0032's backfill).
            for table in ("dispute", "rectification_notice"):
                cur.execute(f"UPDATE {table} c SET next_due_at = t.due FROM (SELECT instance_id, min(due_at) AS due "
                            "FROM task WHERE status = 'open' AND due_at IS NOT NULL AND paused_at IS NULL "
                            f"GROUP BY instance_id) t WHERE t.instance_id = c.instance_id")
        conn.commit()
        t1 = time.perf_counter()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
        conn.autocommit = False
        counts["analyze_seconds"] = round(time.perf_counter() - t1, 1)
    finally:
        raw.close()
    counts["load_seconds"] = round(time.perf_counter() - t0, 1)
    return counts


def _share_requests(cur, rng, org, entries, instances, n, now, span):  # type: ignore[no-untyped-def]
    statuses = ["granted"] * 60 + ["refused"] * 15 + ["under_review"] * 20 + ["withdrawn"] * 5
    requesters = Weighted(rng, org.line)
    rows, out = [], []
    free = instances[:]
    rng.shuffle(free)
    for i in range(1, n + 1):
        entry_id, provider, items = rng.choice(entries)
        requester = requesters.draw()
        if requester == provider:
            requester = org.line[-1]
        status = rng.choice(statuses)
        created = now - timedelta(seconds=rng.randrange(3600, span))
        decided = status in ("granted", "refused")
        instance = free.pop() if free else None
        rows.append((i, entry_id, requester, provider, org.holders[(requester, "clerk")], json.dumps(items[:2],
                     ensure_ascii=False), "履行社会保障待遇核定职责需要核验身份", "本部门业务办理", created.date(),
                     (created + timedelta(days=365)).date(), "api", "《河南省政务数据管理办法》第十六条",
                     status, ("approve" if status == "granted" else "refuse") if decided else None,
                     "依据不足" if status == "refused" else None, "bench" if decided else None,
                     created + timedelta(days=3) if decided else None, instance, created))
        out.append((i, entry_id, requester, provider, status, items))
    _copy(cur, "share_request", [
        "id", "entry_id", "requester_department_id", "provider_department_id", "requested_by_id", "items", "purpose",
        "scope", "period_from", "period_to", "method", "legal_basis", "status", "decision", "refusal_reason",
        "decided_by", "decided_at", "instance_id", "created_at"], rows)
    return out


def _case_instance(pool: tuple[list[int], list[int]], is_open: bool) -> int | None:
    running, finished = pool
    free = running if is_open else finished
    return free.pop() if free else None


def _disputes(cur, rng, org, share, n, now, span, pool):  # type: ignore[no-untyped-def]
    refused = [s for s in share if s[4] == "refused"]
    rng.shuffle(refused)
    statuses = ["negotiating"] * 30 + ["coordinating"] * 20 + ["settled"] * 20 + ["decided"] * 15 + ["complied"] * 15
    rows = []
    for i, (sid, entry_id, requester, provider, _, items) in enumerate(refused[:n], start=1):
        status = rng.choice(statuses)
        created = now - timedelta(seconds=rng.randrange(3600, span // 3))
        closed = created + timedelta(days=30) if status in ("settled", "complied") else None
        rows.append((i, sid, entry_id, requester, provider, org.authority_of[provider],
                     org.holders[(requester, "clerk")], "refused", json.dumps(items[:1], ensure_ascii=False),
                     "法定职责", "核验需要", status, created + timedelta(days=10), 1, created,
                     closed or created, closed, _case_instance(pool, closed is None)))
    return _copy(cur, "dispute", [
        "id", "share_request_id", "entry_id", "requester_department_id", "provider_department_id",
        "authority_department_id", "opened_by_id", "kind", "items", "duties", "need", "status",
        "negotiation_due_at", "negotiation_rounds", "created_at", "updated_at", "closed_at", "instance_id"], rows)


def _notices(cur, rng, org, pool, n, now, span):  # type: ignore[no-untyped-def]
    statuses = ["rectifying"] * 30 + ["reported"] * 10 + ["exemption_claimed"] * 5 + ["accepted"] * 45 + \
        ["exempted"] * 5 + ["withdrawn"] * 5
    seq: dict[tuple[int, int], int] = {}
    rows = []
    province = [d for d in org.line if org.level[d] == "province"]
    for i in range(1, n + 1):
        # The province's authority issues a third of them (to province departments), the cities the rest.
        dept = rng.choice(province) if rng.random() < 0.3 else rng.choice(org.line)
        authority = org.authority_of[dept]
        issued = now - timedelta(seconds=rng.randrange(3600, span))
        key = (authority, issued.year)
        seq[key] = seq.get(key, 0) + 1
        status = rng.choice(statuses)
        due = issued + timedelta(days=21)
        rows.append((i, f"{authority}整改〔{issued.year}〕{seq[key]}号", authority, issued.year, seq[key], dept,
                     rng.randint(1, 6), "未按照要求更新目录", "限期更新并报告", 15, due, 15, due, False, status, 1,
                     _case_instance(pool, status in ("rectifying", "reported", "exemption_claimed")),
                     org.authority_users[authority], issued,
                     issued + timedelta(days=20) if status in ("accepted", "exempted", "withdrawn") else None))
    return _copy(cur, "rectification_notice", [
        "id", "number", "authority_department_id", "year", "seq", "department_id", "article_item", "facts",
        "requirements", "deadline_working_days", "issued_due_at", "round_working_days", "due_at", "due_provisional",
        "status", "round",
        "instance_id", "issued_by_id", "issued_at", "closed_at"], rows)


def _supervision(cur, rng, org, open_tasks, n, now):  # type: ignore[no-untyped-def]
    overdue = [t for t in open_tasks if t[5] < now]
    rng.shuffle(overdue)
    rows = []
    for i, (task_id, instance_id, key, name, dept, due, subject) in enumerate(overdue[:n], start=1):
        state = "open" if rng.random() < 0.8 else "closed"
        rows.append((i, task_id, instance_id, key, name, subject, dept, org.office_of[dept], org.level[dept], due,
                     due + timedelta(days=1), max(1, (now - due).days * 5 // 7), state, 0,
                     now if state == "closed" else None, "task_done" if state == "closed" else None))
    n = _copy(cur, "supervision_item", [
        "id", "task_id", "instance_id", "process_key", "task_name", "subject", "department_id", "office_department_id",
        "level", "due_at", "escalated_at", "overdue_working_days", "state", "urge_count", "closed_at", "close_reason"],
        rows)
    cur.execute("UPDATE task t SET escalated_at = s.escalated_at FROM supervision_item s WHERE s.task_id = t.id")
    return n


def _notifications(cur, rng, org, n, now, span):  # type: ignore[no-untyped-def]
    people = Weighted(rng, list(org.holders.values()))
    hot = org.users[HOT_REVIEWER]
    kinds = [("task_arrived", "新待办"), ("reminder", "到期提醒"), ("escalated", "超期督办"), ("info", "通知")]

    def rows():  # type: ignore[no-untyped-def]
        for i in range(1, n + 1):
            user = hot if rng.random() < 0.07 else people.draw()
            kind, title = rng.choice(kinds)
            created = now - timedelta(seconds=rng.randrange(60, span))
            yield (i, user, kind, f"{title}：第{i}号", "", f"/tasks?n={i}", f"bench:{i}", created,
                   created + timedelta(hours=2) if rng.random() < 0.8 else None)
    return _copy(cur, "notification", ["id", "user_id", "kind", "title", "body", "link", "dedupe_key", "created_at",
                                       "read_at"], rows())


def _copies(cur, rng, org, max_instance, n, now, span):  # type: ignore[no-untyped-def]
    people = Weighted(rng, list(org.holders.values()))
    hot = org.users[HOT_REVIEWER]
    seen: set[tuple[int, int]] = set()
    rows = []
    for i in range(1, n + 1):
        user = hot if rng.random() < 0.1 else people.draw()
        instance = rng.randint(1, max_instance)
        if (instance, user) in seen:
            continue
        seen.add((instance, user))
        created = now - timedelta(seconds=rng.randrange(60, span))
        rows.append((len(rows) + 1, instance, user, rng.choice(org.clerks), None, "请阅", created,
                     created + timedelta(days=1) if rng.random() < 0.6 else None))
    return _copy(cur, "case_copy", ["id", "instance_id", "user_id", "sent_by_id", "task_id", "note", "created_at",
                                    "read_at"], rows)


def _versions(cur, rng, org, n, now, span):  # type: ignore[no-untyped-def]
    number: dict[int, int] = {}
    rows = []
    for i in range(1, n + 1):
        dept = rng.choice(org.line)
        number[dept] = number.get(dept, 0) + 1
        created = now - timedelta(seconds=rng.randrange(3600, span))
        rows.append((i, dept, number[dept], "published", org.authority_of[dept], 1, "[]",
                     org.holders[(dept, "clerk")], created, created, created, created, "bench"))
    return _copy(cur, "catalog_version", [
        "id", "department_id", "number", "status", "authority_department_id", "review_round", "snapshot",
        "created_by_id", "created_at", "updated_at", "submitted_at", "published_at", "published_by"], rows)


def build(url: str, n_tasks: int) -> dict[str, Any]:
    """Prepare the empty database at url and load n_tasks tasks; return counts and seconds."""
    t0 = time.perf_counter()
    rt = prepare(url)
    org = organisation(rt)
    setup = time.perf_counter() - t0
    try:
        counts = load(rt, org, n_tasks)
    finally:
        rt.db.dispose()
    counts.update(setup_seconds=round(setup, 1), build_seconds=round(time.perf_counter() - t0, 1),
                  line_departments=len(org.line))
    return counts
