"""/healthz, /readyz and /metrics: what a load balancer, an orchestrator and Prometheus call.

- ``GET /healthz`` - the process lives: 200 {"status": "ok"}, touching nothing (no database, no session).
- ``GET /readyz`` - this replica can serve: 200 when the database answers, its schema is at the code's
  migration head, the current year's holiday arrangement is known and a scheduler beat recently;
  503 otherwise, with each check's result. Answers within about 3 seconds even when the database
  hangs (app/ops/probe.py). Unauthenticated, and says nothing of addresses, versions or errors.
- ``GET /metrics`` - Prometheus text format, for clients in settings.metrics_allow_networks or with
  ``Authorization: Bearer <settings.metrics_token>``; anyone else gets 403 (not 404: the endpoint's
  existence is no secret, and an operator whose scraper is refused should see why, not hunt a route).

None of them is in the OpenAPI (they are not the service's API) and none reads the demo clock first
(app/deps.py sync_demo_clock leaves app.ops.PROBE_PATHS out).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, GCCollector, ProcessCollector, generate_latest

from app.ops.metrics import DatabaseCollector
from app.ops.probe import Probe, migration_heads, probe_engine, run_checks
from app.runtime import Runtime

router = APIRouter(include_in_schema=False)

# /readyz gives up on the database after this long (the probe's own timeouts are shorter still).
READY_TIMEOUT_SECONDS = 3.0
_NO_STORE = {"Cache-Control": "no-store"}
# The checks run here, not in the request thread pool: a hung database cannot starve the pages' threads,
# and a probe that overruns is answered on time while its thread finishes in the background.
_probe_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="govflow-readyz")
_lock = threading.Lock()


def metrics_registry(app: FastAPI) -> CollectorRegistry:
    """Create the app's metrics registry (request metrics are added by RequestMetrics, which takes it)."""
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)
    GCCollector(registry=registry)
    app.state.metrics_registry = registry
    return registry


def _probe(app: Any) -> Probe:
    """The app's probe, built on first use (its PostgreSQL pool is only opened by a probe or a scrape)."""
    probe = getattr(app.state, "ops_probe", None)
    if probe is None:
        with _lock:
            probe = getattr(app.state, "ops_probe", None)
            if probe is None:
                rt: Runtime = app.state.runtime
                probe = Probe(rt=rt, engine=probe_engine(rt), heads=migration_heads())
                app.state.metrics_registry.register(DatabaseCollector(rt, probe.engine))
                app.state.ops_probe = probe
    return probe


@router.get("/healthz")
async def healthz() -> JSONResponse:
    """The process is alive (an event loop that answers). Nothing else is checked."""
    return JSONResponse({"status": "ok"}, headers=_NO_STORE)


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Each check's result; 200 when all pass, 503 otherwise."""
    probe = _probe(request.app)
    loop = asyncio.get_running_loop()
    try:
        checks = await asyncio.wait_for(loop.run_in_executor(_probe_threads, run_checks, probe),
                                        READY_TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        waiting = {"ok": False, "message": "数据库不可用，无法检查"}
        checks = {"database": {"ok": False, "message": "数据库响应超时"}, "migrations": waiting,
                  "calendar": waiting, "scheduler": {**waiting, "age_seconds": None}}
    ok = all(check["ok"] for check in checks.values())
    return JSONResponse({"status": "ok" if ok else "fail", "checks": checks}, status_code=200 if ok else 503,
                        headers=_NO_STORE)


def _allowed(request: Request) -> bool:
    settings = request.app.state.runtime.settings
    token = settings.metrics_token
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # e.g. a Unix socket, or the test client's "testclient"
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.metrics_allow_networks)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """The Prometheus text exposition (runs in the thread pool: the scrape reads the database)."""
    if not _allowed(request):
        return JSONResponse({"detail": {"code": "metrics_forbidden",
                                        "message": "无权读取监控指标：请从允许的网段访问或提供监控令牌",
                                        "message_en": "Metrics need an allowed network or the metrics token"}},
                            status_code=403, headers=_NO_STORE)
    _probe(request.app)
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST,
                    headers=_NO_STORE)
