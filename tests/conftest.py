"""Test fixtures: a migrated database per test (SQLite file copy, or a PostgreSQL template clone kept in a
pool and reset between tests),
the real engine and calendar, a frozen clock, and HTTP clients logged in as demo users."""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.cli import migrate
from app.core.clock import SHANGHAI, clock
from app.core.config import Settings
from app.runtime import Runtime, build_runtime

PG_URL = os.environ.get("GOVFLOW_TEST_DATABASE_URL")
DEMO_PASSWORD = "Demo#2026"
SECRET = "test-secret-key-that-is-long-enough-0123456789"


@dataclass
class Template:
    kind: str  # "sqlite" | "postgresql"
    location: str  # file path, or database name
    admin_url: str | None = None


def _settings(url: str) -> Settings:
    return Settings(environment="test", database_url=url, secret_key=SECRET, enable_time_travel=True,
                    run_scheduler=False)


def _prepare_template(url: str) -> None:
    from app.org.seed import load_demo
    from app.startup import prepare

    migrate(url)
    rt = build_runtime(_settings(url))
    prepare(rt)
    with rt.db.session() as session:
        load_demo(session, rt.settings.province_code)
        session.commit()
    rt.db.dispose()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # Fold the WAL into the main file so that copying the file copies everything.
        conn = sqlite3.connect(parsed.database)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()


def _pg_admin(admin_url: str):  # type: ignore[no-untyped-def]
    return create_engine(admin_url, isolation_level="AUTOCOMMIT")


@contextmanager
def blank_database(sqlite_path: Path, label: str) -> Iterator[str]:
    """Give the URL of an empty database of the suite's kind, neither migrated nor seeded: on SQLite a file
    at `sqlite_path` that does not exist yet; on PostgreSQL a database created now and dropped afterwards."""
    if not PG_URL:
        yield f"sqlite:///{sqlite_path}"
        return
    name = f"govflow_{label}_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin(PG_URL)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def db_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    """Migrate and seed one template database for the whole run."""
    if PG_URL:
        name = f"govflow_t_{uuid.uuid4().hex[:10]}"
        admin = _pg_admin(PG_URL)
        # Fails loudly when PostgreSQL is unreachable: CI must not silently skip it.
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        _prepare_template(url)
        yield Template("postgresql", name, PG_URL)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("db") / "template.db"
        _prepare_template(f"sqlite:///{path}")
        yield Template("sqlite", str(path))


# Every relation, column, trigger and function outside the system schemas: a test that changed any of them
# leaves a database that a reset of rows cannot put back.
_FINGERPRINT_SQL = """
SELECT md5(coalesce(string_agg(item, ';' ORDER BY item), '')) FROM (
  SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' || coalesce((
           SELECT string_agg(a.attname || '/' || a.atttypid, ',' ORDER BY a.attnum) FROM pg_attribute a
           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') AS item
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  UNION ALL SELECT 'trigger:' || tgrelid::regclass || '.' || tgname || ':' || tgenabled::text
    FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL SELECT 'function:' || p.oid::regprocedure::text FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
) AS items
"""


class PgPool:
    """This test process's PostgreSQL databases: cloned from the template once, then put back into the
    template's state after each test, rows and sequences, instead of a CREATE and a DROP DATABASE per test
    (measured here ~0.5-1.5 s for the pair, against 20-140 ms for a reset). Each test still gets a database
    name of its own (renamed at checkout), so nothing keyed by the URL outlives its test. A test that
    changed the schema (a table made or dropped, a column, a trigger) gets its database dropped and the
    next test a fresh clone; so does a database after MAX_USES tests (its deleted rows' space)."""

    MAX_USES = 100

    def __init__(self, template: Template) -> None:
        import psycopg

        assert template.admin_url
        self.template = template.location
        self.admin_url = template.admin_url
        self.admin = _pg_admin(template.admin_url)
        self.idle: list[tuple[str, int]] = []
        self.uses: dict[str, int] = {}
        with psycopg.connect(self._libpq(self.template), autocommit=True) as conn:
            self.fingerprint = conn.execute(_FINGERPRINT_SQL).fetchone()[0]
            self.tables = [row[0] for row in conn.execute(
                "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
                "AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")]
            self.rows: dict[str, bytes] = {}
            for table in self.tables:
                # (a SELECT: a partitioned table cannot be copied out as such)
                with conn.cursor().copy(f"COPY (SELECT * FROM {table}) TO STDOUT (FORMAT BINARY)") as copy:
                    self.rows[table] = b"".join(bytes(block) for block in copy)
            self.sequences = conn.execute(
                "SELECT format('%I.%I', schemaname, sequencename), last_value FROM pg_sequences "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").fetchall()

    def _libpq(self, name: str) -> str:
        return make_url(self.admin_url).set(drivername="postgresql", database=name).render_as_string(
            hide_password=False)

    def url(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def checkout(self) -> str:
        if self.idle:
            name, uses = self.idle.pop()
        else:
            name, uses = f"{self.template}_{uuid.uuid4().hex[:8]}", 0
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
                # Tests do not need their commits on disk before the next statement.
                conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        fresh = f"{self.template}_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" RENAME TO "{fresh}"'))
        self.uses[fresh] = uses + 1
        return fresh

    def checkin(self, name: str) -> None:
        import psycopg

        uses = self.uses.pop(name)
        with self.admin.connect() as conn:  # whatever the test left connected (a server, a pool)
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
        try:
            if uses < self.MAX_USES:
                with psycopg.connect(self._libpq(name)) as conn:
                    if conn.execute(_FINGERPRINT_SQL).fetchone()[0] == self.fingerprint:
                        self._reset(conn)
                        self.idle.append((name, uses))
                        return
        except psycopg.Error:
            pass  # dropped below: the next test gets a fresh clone
        self._drop(name)

    def _reset(self, conn) -> None:  # type: ignore[no-untyped-def]
        with conn.transaction():
            cur = conn.cursor()
            # No trigger (the audit trail's append-only guard) and no foreign-key check while the rows go back.
            cur.execute("SET LOCAL session_replication_role = replica")
            for table in self.tables:
                cur.execute(f"DELETE FROM {table}")
            for table in self.tables:
                with cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
                    copy.write(self.rows[table])
            for sequence, last_value in self.sequences:
                cur.execute("SELECT setval(%s, %s, %s)", (sequence, last_value or 1, last_value is not None))

    def _drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        for name, _ in self.idle:
            self._drop(name)
        for name in list(self.uses):
            self._drop(name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_pool(db_template: Template) -> Iterator[PgPool | None]:
    if db_template.kind != "postgresql":
        yield None
        return
    pool = PgPool(db_template)
    yield pool
    pool.close()


@pytest.fixture
def db_url(db_template: Template, pg_pool: PgPool | None, tmp_path: Path) -> Iterator[str]:
    """Give each test its own migrated, seeded database: a copy of the template file on SQLite, on PostgreSQL a
    database of the pool in the template's state."""
    if pg_pool is None:
        path = tmp_path / "test.db"
        shutil.copyfile(db_template.location, path)
        yield f"sqlite:///{path}"
        return
    name = pg_pool.checkout()
    try:
        yield pg_pool.url(name)
    finally:
        pg_pool.checkin(name)


@pytest.fixture
def frozen_clock() -> Iterator[object]:
    """Freeze the service clock on a working Monday morning in Shanghai."""
    clock.freeze(datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI))
    yield clock
    clock.reset()


class ManualSeconds:
    """A monotonic clock the test moves by hand (the per-process caches judge freshness on it)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def rt(db_url: str, frozen_clock: object, tmp_path: Path) -> Iterator[Runtime]:
    """Build the runtime (database, engine, runner) on the test's database and attachment folder."""
    runtime = build_runtime(_settings(db_url).model_copy(update={
        "attachments_dir": tmp_path / "attachments",
        "audit_head_export_path": tmp_path / "audit-head.jsonl",
        "usage_archive_dir": tmp_path / "usage-archive"}))
    # The person and calendar caches expire on seconds the test controls, never on how long it runs.
    runtime.actors.seconds = runtime.calendar.seconds = ManualSeconds()
    yield runtime
    runtime.db.dispose()


@pytest.fixture
def app(rt: Runtime):  # type: ignore[no-untyped-def]
    from app.main import create_app

    return create_app(rt.settings, runtime=rt)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An anonymous HTTP client (lifespan run)."""
    with TestClient(app) as c:
        yield c


class Clients:
    """Log demo users in and hand out their authorised clients."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self._open: list[TestClient] = []

    def __call__(self, username: str, password: str = DEMO_PASSWORD) -> TestClient:
        # No lifespan here: the `client` fixture already ran start-up once for this app.
        c = TestClient(self.app)
        self._open.append(c)
        r = c.post("/api/auth/token", data={"username": username, "password": password})
        assert r.status_code == 200, r.text
        c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        return c

    def close(self) -> None:
        for c in self._open:
            c.close()


@pytest.fixture
def as_user(app, client) -> Iterator[Clients]:  # type: ignore[no-untyped-def]
    """as_user('gat_reviewer') -> a client with that demo user's bearer token."""
    clients = Clients(app)
    yield clients
    clients.close()


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    """Print the fuzz run's numbers (cases, time) even under xdist, where a worker's stdout is not shown."""
    shots = 0
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        for name, value in getattr(report, "user_properties", []):
            if name == "fuzz_summary" and report.when == "call":
                terminalreporter.write_line(str(value))
            elif name == "screenshot" and report.when == "call":
                shots += 1
    folder = os.environ.get("GOVFLOW_SCREENSHOT_DIR")
    if shots:
        where = folder or "each test's tmp folder (set GOVFLOW_SCREENSHOT_DIR to keep them)"
        terminalreporter.write_line(f"browser screenshots: {shots} at 1366x768 in {where}")
