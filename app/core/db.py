"""Database engine and sessions. SQLite (WAL, immediate transactions) or PostgreSQL.

Two kinds of session: the default one, whose transactions may write (on SQLite they begin IMMEDIATE,
taking the write lock), and a read-only one for requests that change nothing (GET, HEAD) and other pure
readers. On SQLite a read-only transaction begins DEFERRED, so it never waits for a writer nor holds
one up (a WAL reader reads its snapshot), and runs under ``PRAGMA query_only``; on PostgreSQL it
begins READ ONLY. A write in a read-only session fails at once, on both databases, rather than
racing for the lock.

SQLite writers queue fairly (``_WriterQueue``). SQLite lets one writer in at a time; one that finds the
lock taken sleeps in SQLite's busy handler and tries again, backing off up to 100 ms per try, so with two
worker processes a write could wait many times longer than the writer ahead of it needed (write p95 15-20x
its p50 in bench/throughput.py). Instead, on a database file (not ``:memory:``) where the platform has
``fcntl``, every write transaction first takes an exclusive ``flock`` on ``<database file>.writer-lock``
and only then begins IMMEDIATE; the lock is let go right after its COMMIT or ROLLBACK, or when the
connection closes (also when the pool invalidates it), and by the kernel if the process dies. A blocked
``flock`` is woken by the kernel the moment the lock is free, so the next writer starts at once.

- flock locks belong to an open file description: each engine opens the lock file once per process
  (again after a fork) and lets one of its threads at a time wait for it, behind a ``threading.Lock``;
  another engine on the same file (another worker, a test's second ``Database``) has its own
  description and queues like another process.
- Per connection: the lock is taken when a write transaction begins and released when that
  transaction ends (``_QueuedSQLiteConnection``, the DBAPI connection class, releases it in its own
  ``commit``/``rollback``/``close``, i.e. after SQLite finished them). Read-only transactions never
  take it, nor do savepoints (they live inside a transaction that already holds it).
- ``PRAGMA busy_timeout`` stays as the safety net for writers outside the queue: other programs
  (the sqlite3 shell, a backup), a writer of this engine that gave up waiting in the process
  (``WRITER_QUEUE_WAIT_SECONDS``: a thread that opens a second write transaction while its first is
  open waits that long, then fails on busy_timeout as before), and a platform without ``fcntl``, where writers behave as before.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, create_engine

from app.core.errors import DomainError, InvalidInput

try:
    import fcntl
except ImportError:  # not a POSIX platform: writers wait in SQLite's busy handler only
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("govflow")
# The widest integer either database stores (SQLite INTEGER, PostgreSQL BIGINT).
_INT64 = range(-(2**63), 2**63)
# PostgreSQL SQLSTATE numeric_value_out_of_range: a value too large for its column's type (INTEGER ids).
_PG_OUT_OF_RANGE = "22003"
# Execution option of the read-only engine (SQLite reads it when a transaction begins).
READ_ONLY = "govflow_read_only"


def _number_out_of_range() -> InvalidInput:
    return InvalidInput("数值超出允许范围", message_en="A number is out of range", code="number_out_of_range")


def _nul_character() -> InvalidInput:
    return InvalidInput("文本中不能包含空字符（U+0000）", message_en="Text must not contain NUL characters",
                        code="nul_character")


def _bad_parameter(value: Any) -> InvalidInput | None:
    """Return the error for a statement parameter no column may hold, looking inside lists and dicts."""
    if isinstance(value, str):
        if "\x00" in value:
            return _nul_character()
    elif isinstance(value, int):
        if value not in _INT64:
            return _number_out_of_range()
    elif isinstance(value, (list, tuple)):
        for item in value:
            if (error := _bad_parameter(item)) is not None:
                return error
    elif isinstance(value, dict):
        return _bad_parameter(list(value.values()))
    return None


def _has_nul(value: Any) -> bool:
    """Tell whether a JSON column value holds a NUL in a string or a key."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(item) for item in value)
    return False


def _json_dumps(value: Any) -> str:
    """Serialize a JSON column value (json.dumps, as SQLAlchemy does), refusing text with NUL.

    PostgreSQL's json type keeps the \\u0000 escape, but the text cannot be extracted into a text column
    (and SQLite would keep it): refused here like NUL in any other parameter.
    """
    text = json.dumps(value)
    # A NUL is written as \u0000: look closer only then (it may also be an escaped backslash and "u0000").
    if "\\u0000" in text and _has_nul(value):
        raise _nul_character()
    return text


def _guard_values(engine: Engine) -> None:
    """Refuse, as bad input (422), values the databases cannot store, the same way on SQLite and PostgreSQL.

    Request values reach statements through many paths (path and query parameters, bodies, forms, imported
    spreadsheets, JSON columns): text with NUL (PostgreSQL refuses it, SQLite would keep it) and integers
    beyond 64 bits (SQLite raises OverflowError) are refused before the statement runs (JSON column values
    in ``_json_dumps``); an integer that fits 64 bits but not its PostgreSQL column (INTEGER ids) fails in
    the database with SQLSTATE 22003, mapped here too.
    """
    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _check(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> tuple[str, Any]:
        error = _bad_parameter(parameters)
        if error is not None:
            raise error
        return statement, parameters

    @event.listens_for(engine, "handle_error")
    def _as_bad_input(ctx: Any) -> DomainError | None:
        if isinstance(ctx.original_exception, DomainError):
            # Raised by _json_dumps while binding parameters, which SQLAlchemy wraps in a StatementError
            # (a copy, raised from the original; _check's errors are re-raised unwrapped as they are).
            return copy.copy(ctx.original_exception) if ctx.sqlalchemy_exception is not None else None
        if getattr(ctx.original_exception, "sqlstate", None) == _PG_OUT_OF_RANGE:
            # Logged: the same SQLSTATE would also name an overflow in the statement's own arithmetic.
            log.warning("number out of range for the database: %s", ctx.original_exception)
            return _number_out_of_range()
        return None


# How long a thread waits for another thread of its process to finish its write transaction before it
# stops queueing and leaves the wait to SQLite's busy handler (busy_timeout, 30 s): long enough for any
# sane transaction, short enough that a thread waiting on itself fails as "database is locked".
WRITER_QUEUE_WAIT_SECONDS = 30.0


class _WriterQueue:
    """A fair queue of the write transactions on one SQLite file, across threads and processes.

    One engine's share of it: a flock on ``<db>.writer-lock`` (opened per process) taken by at most one
    of the engine's threads at a time, the others waiting on a thread lock.
    """

    def __init__(self, database: str) -> None:
        self.path = f"{database}.writer-lock"
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0
        self._closer: weakref.finalize | None = None

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            # After a fork the inherited description is shared with the parent (one flock for both):
            # open our own.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._fd, self._pid = fd, os.getpid()
            self._closer = weakref.finalize(self, os.close, fd)  # also when the engine is dropped
        return self._fd

    def close(self) -> None:
        """Close the lock file (the engine was disposed) unless a writer holds it; reopened when needed."""
        if self._fd is not None and self._closer is not None and self._threads.acquire(blocking=False):
            try:
                self._closer()
                self._fd = None
            finally:
                self._threads.release()

    def acquire(self) -> bool:
        """Wait for the writer lock; False when the wait in the process was given up (nothing to release).

        The lock is not tied to a thread: a request's transaction may begin in one worker thread and
        commit in another (FastAPI hops between them), and it is the connection that releases it.
        """
        if not self._threads.acquire(timeout=WRITER_QUEUE_WAIT_SECONDS):
            log.warning("SQLite writer queue: waited %s s for a writer of this process; leaving the wait "
                        "to busy_timeout", WRITER_QUEUE_WAIT_SECONDS)
            return False
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)  # blocks; the kernel wakes us when it is free
        except BaseException:
            self._threads.release()
            raise
        return True

    def release(self) -> None:
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._threads.release()


class _QueuedSQLiteConnection(sqlite3.Connection):
    """pysqlite's connection that lets go of the writer lock once its transaction has ended."""

    writer_queue: _WriterQueue | None = None
    holds_writer_lock = False

    def begin_write(self) -> None:
        """Queue for the writer lock (before BEGIN IMMEDIATE); a no-op when this connection holds it."""
        if self.writer_queue is not None and not self.holds_writer_lock:
            self.holds_writer_lock = self.writer_queue.acquire()

    def release_writer_lock(self) -> None:
        if self.holds_writer_lock:
            self.holds_writer_lock = False
            assert self.writer_queue is not None
            self.writer_queue.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_writer_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_writer_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_writer_lock()


CONNECT_TIMEOUT_SECONDS = 3


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; on SQLite, WAL mode and BEGIN IMMEDIATE so writers queue instead of failing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        queue = None
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            if fcntl is not None and not parsed.query.get("uri"):
                queue = _WriterQueue(str(Path(parsed.database).resolve()))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30,
                                                  "factory": _QueuedSQLiteConnection},
                               json_serializer=_json_dumps, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin.
            dbapi_conn.isolation_level = None
            dbapi_conn.writer_queue = queue
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            read_only = bool(conn.get_execution_options().get(READ_ONLY))
            # query_only belongs to the pooled connection and outlives the transaction: set it only when
            # this transaction's kind differs from the last one's on the same connection.
            info = conn.connection.info
            if info.get(READ_ONLY, False) != read_only:
                conn.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
                info[READ_ONLY] = read_only
            # A deferred transaction that reads then writes fails at once under WAL when another
            # writer committed meanwhile; taking the write lock up front makes writers wait instead.
            # A reader never writes, so it begins deferred and reads its snapshot without any lock.
            if read_only:
                conn.exec_driver_sql("BEGIN")
                return
            # Writers take their turn in the writer queue first (see the module's docstring).
            dbapi_conn = conn.connection.dbapi_connection
            dbapi_conn.begin_write()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_conn.release_writer_lock()  # no transaction began: nothing will commit or roll back
                raise

        if queue is not None:
            event.listen(engine, "engine_disposed", lambda _engine: queue.close())
        _guard_values(engine)
        return engine
    # A database that does not answer (host down, network cut) fails a request within seconds, as a clean
    # 503, rather than holding a worker thread for the operating system's TCP time-out.
    kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                           json_serializer=_json_dumps, **kwargs)
    _guard_values(engine)
    return engine


# SQLite's OperationalErrors that say the database file cannot be used now (the others, such as "no such
# table" or a write in a read-only transaction, are bugs).
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")


def database_unavailable(exc: BaseException) -> bool:
    """Tell whether a database error means the database cannot be reached now (a clean 503), not a bug.

    True for a dropped or refused connection (PostgreSQL down or restarting: no SQLSTATE, class 08, 57P
    shutdown states, too many connections), an invalidated pooled connection, and a SQLite file that is
    locked or cannot be opened.
    """
    if isinstance(exc, DisconnectionError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    orig = exc.orig
    if type(orig).__module__.startswith("sqlite3"):
        return any(text in str(orig).lower() for text in _SQLITE_UNAVAILABLE)
    if isinstance(exc, InterfaceError):
        return True
    state = getattr(orig, "sqlstate", None)
    return state is None or state.startswith(("08", "57P")) or state == "53300"


def is_read_only(session: Session) -> bool:
    """Tell whether a session is read-only (made by Database.read_session_factory)."""
    return bool(session.get_bind().get_execution_options().get(READ_ONLY))


class Database:
    """An engine plus its session factory."""

    def __init__(self, url: str, *, session_info: dict[str, Any] | None = None) -> None:
        self.url = url
        self.engine = make_engine(url)
        # session_info: what every session carries in Session.info (the audit chain key).
        self.session_factory = sessionmaker(bind=self.engine, class_=Session, expire_on_commit=False,
                                            info=session_info)
        # The same pool; its transactions begin deferred and query-only (SQLite) or READ ONLY (PostgreSQL).
        options: dict[str, Any] = {READ_ONLY: True}
        if self.is_postgres:
            # psycopg then begins with BEGIN READ ONLY: no extra round trip; reset when the connection
            # returns to the pool.
            options["postgresql_readonly"] = True
        self.read_engine = self.engine.execution_options(**options)
        self.read_session_factory = sessionmaker(bind=self.read_engine, class_=Session, expire_on_commit=False,
                                                 info=session_info)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session that rolls back whatever was not committed."""
        session = self.session_factory()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """Yield a read-only session: it never takes SQLite's write lock, and any write in it fails."""
        session = self.read_session_factory()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
