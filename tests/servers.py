"""Real GovFlow server processes for the tests that need more than one (several replicas on one database).

Each server is a uvicorn process started on a socket bound here and handed over (`--fd`), so no other process
can take the port between choosing it and the server listening. Ports come from one range shared by every
such test, first free first, so tests running at the same time under xdist never ask for the same port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PORTS = range(18100, 18150)  # the tests' share of the machine's ports


def server_env(db_url: str, **extra: str) -> dict[str, str]:
    """The environment of a server (or scheduler) process of the tests on `db_url`."""
    env = {**os.environ, "GOVFLOW_DATABASE_URL": db_url, "GOVFLOW_ENVIRONMENT": "test",
           "GOVFLOW_SECRET_KEY": "s" * 48, "GOVFLOW_ENABLE_TIME_TRAVEL": "true",
           "GOVFLOW_RUN_SCHEDULER": "false", **extra}
    env.pop("GOVFLOW_FAULT", None)
    return env


def bind_ports(n: int) -> list[socket.socket]:
    """Bind n free ports of the range here, ready to be inherited by the servers."""
    socks: list[socket.socket] = []
    for port in PORTS:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        sock.set_inheritable(True)
        socks.append(sock)
        if len(socks) == n:
            return socks
    for sock in socks:
        sock.close()
    raise RuntimeError(f"no {n} free ports in {PORTS.start}-{PORTS.stop - 1}")


@contextmanager
def uvicorn_servers(db_url: str, n: int, **extra_env: str) -> Iterator[list[str]]:
    """Start n uvicorn processes on one database; yield their base URLs once they answer; always stop them."""
    procs: list[subprocess.Popen[bytes]] = []
    socks = bind_ports(n)
    try:
        urls = []
        for sock in socks:
            # The server listens on the socket bound here; until it does, connecting is refused.
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--fd", str(sock.fileno()),
                 "--log-level", "warning"],
                cwd=ROOT, env=server_env(db_url, **extra_env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                pass_fds=(sock.fileno(),)))
            urls.append(f"http://127.0.0.1:{sock.getsockname()[1]}")
        for proc, url in zip(procs, urls, strict=True):
            _wait_ready(proc, url)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for sock in socks:
            sock.close()


def _wait_ready(proc: subprocess.Popen[bytes], url: str) -> None:
    for _ in range(600):  # bounded: about 60 s at most
        if proc.poll() is not None:
            err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            raise AssertionError(f"server {url} exited: {err}")
        try:
            httpx.get(f"{url}/api/me", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)  # a poll while the process starts, not a wait for an outcome
    raise AssertionError(f"server {url} did not start")
