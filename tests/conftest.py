"""Test fixtures: a migrated database per test (SQLite file copy, or a PostgreSQL template clone),
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


@pytest.fixture
def db_url(db_template: Template, tmp_path: Path) -> Iterator[str]:
    """Give each test its own copy of the migrated, seeded database."""
    if db_template.kind == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(db_template.location, path)
        yield f"sqlite:///{path}"
        return
    assert db_template.admin_url
    name = f"{db_template.location}_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin(db_template.admin_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{db_template.location}"'))
    yield make_url(db_template.admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


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
