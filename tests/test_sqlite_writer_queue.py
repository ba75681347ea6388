"""SQLite writers queue on a lock file beside the database (app/core/db.py _WriterQueue): two processes
or threads writing at once lose nothing and never see "database is locked" even with SQLite's own
busy wait turned off, a lock is let go after a failed transaction or a dropped connection, and
read-only sessions never take it."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, text

from app.core.db import Database

fcntl = pytest.importorskip("fcntl")

# Only so that a regression fails instead of hanging: no test waits on time for its outcome.
GUARD_SECONDS = 60
WRITES = 40


def _database(url: str) -> Database:
    """A Database whose connections fail at once on a taken SQLite write lock (no busy handler wait):
    any writer that reached BEGIN IMMEDIATE without its turn in the queue would see "database is locked"."""
    db = Database(url)
    event.listen(db.engine, "connect", lambda conn, _record: conn.execute("PRAGMA busy_timeout=0"))
    return db


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    db = Database(url)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO counter (id, n) VALUES (1, 0)")
        conn.exec_driver_sql("CREATE TABLE entry (id INTEGER PRIMARY KEY, writer TEXT NOT NULL)")
    db.dispose()
    yield url


def _lock_path(url: str) -> str:
    return url.removeprefix("sqlite:///") + ".writer-lock"


def _lock_is_free(url: str) -> bool:
    """Try the writer lock from a description of our own, without waiting (let go at once)."""
    fd = os.open(_lock_path(url), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops our lock, if we took it
    return True


def _write(db: Database, writer: str, count: int) -> None:
    """count read-modify-write transactions: a lost update would show in the counter."""
    for _ in range(count):
        with db.session() as session:
            n = session.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
            session.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})
            session.execute(text("INSERT INTO entry (writer) VALUES (:w)"), {"w": writer})
            session.commit()


def _process_writer(url: str, writer: str, count: int, start: "multiprocessing.synchronize.Event") -> None:
    db = _database(url)
    start.wait(GUARD_SECONDS)
    _write(db, writer, count)
    db.dispose()


def _counts(url: str) -> tuple[int, dict[str, int]]:
    db = Database(url)
    with db.read_session() as session:
        n = session.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
        rows = session.execute(text("SELECT writer, count(*) FROM entry GROUP BY writer")).all()
    db.dispose()
    return n, {w: c for w, c in rows}


def _threads(targets: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(GUARD_SECONDS)
    assert not any(t.is_alive() for t in threads), "a writer is still waiting"
    return errors


def test_two_processes_writing_at_once_lose_nothing_and_never_find_the_database_locked(url: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Event()
    workers = [spawn.Process(target=_process_writer, args=(url, name, WRITES, start)) for name in ("a", "b")]
    for p in workers:
        p.start()
    start.set()
    for p in workers:
        p.join(GUARD_SECONDS)
    assert [p.exitcode for p in workers] == [0, 0]  # a "database is locked" would have ended one with 1
    assert _counts(url) == (2 * WRITES, {"a": WRITES, "b": WRITES})
    assert _lock_is_free(url)


def test_threads_of_one_engine_and_of_two_engines_take_turns(url: str) -> None:
    one, other = _database(url), _database(url)  # other: a second worker process, as far as locks go
    try:
        errors = _threads([lambda: _write(one, "one-1", WRITES), lambda: _write(one, "one-2", WRITES),
                           lambda: _write(other, "other", WRITES)])
        assert not errors, errors
    finally:
        one.dispose()
        other.dispose()
    assert _counts(url) == (3 * WRITES, {"one-1": WRITES, "one-2": WRITES, "other": WRITES})


def test_a_writer_waits_for_the_one_holding_the_lock_instead_of_failing(url: str) -> None:
    holder, waiter = _database(url), _database(url)
    try:
        with holder.session() as session:
            session.execute(text("INSERT INTO entry (writer) VALUES ('holder')"))
            assert not _lock_is_free(url)
            blocked = threading.Thread(target=_write, args=(waiter, "waiter", 1))
            blocked.start()
            session.commit()
        blocked.join(GUARD_SECONDS)
        assert not blocked.is_alive()
    finally:
        holder.dispose()
        waiter.dispose()
    assert _counts(url)[1] == {"holder": 1, "waiter": 1}


def test_the_lock_is_let_go_after_a_failed_transaction_and_a_dropped_connection(url: str) -> None:
    db = _database(url)
    try:
        with pytest.raises(ValueError):
            with db.session() as session:
                session.execute(text("INSERT INTO entry (writer) VALUES ('lost')"))
                assert not _lock_is_free(url)
                raise ValueError("the request failed half-way")
        assert _lock_is_free(url)

        with db.engine.connect() as conn:
            conn.execute(text("INSERT INTO entry (writer) VALUES ('dropped')"))
            assert not _lock_is_free(url)
            conn.invalidate()  # what the pool does with a connection it no longer trusts
        assert _lock_is_free(url)

        _write(db, "after", 1)  # the next writers are not held up
        assert _counts(url)[1] == {"after": 1}
    finally:
        db.dispose()


def test_read_sessions_never_take_the_lock(url: str) -> None:
    db = _database(url)
    fd = os.open(_lock_path(url), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process's writer holds the queue
    try:
        seen: list[int] = []

        def read() -> None:
            with db.read_session() as session:
                seen.append(session.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one())

        assert _threads([read]) == []
        assert seen == [0]
    finally:
        os.close(fd)
        db.dispose()


def test_a_memory_database_does_not_queue() -> None:
    db = Database("sqlite://")
    try:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            assert conn.connection.dbapi_connection.writer_queue is None  # type: ignore[union-attr]
    finally:
        db.dispose()


def _open_lock_files(url: str) -> int:
    """How many descriptors of this process point at the database's writer lock file."""
    target = os.path.realpath(_lock_path(url))
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        pytest.skip("no /proc/self/fd on this platform")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == target)


def test_disposing_an_engine_closes_its_lock_file(url: str) -> None:
    db = _database(url)
    _write(db, "one", 1)
    assert _open_lock_files(url) == 1  # one per engine and process, not per connection or transaction
    _write(db, "two", 2)
    assert _open_lock_files(url) == 1
    db.dispose()
    assert _open_lock_files(url) == 0
    _write(db, "after", 1)  # a disposed engine still works: the file is opened again
    assert _open_lock_files(url) == 1
    db.dispose()
    assert _counts(url)[1] == {"one": 1, "two": 2, "after": 1}
