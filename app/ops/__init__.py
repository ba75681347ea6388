"""Operations: health and readiness probes, Prometheus metrics, scheduler heartbeat and job run records."""

# The operational endpoints (app/ops/http.py): no session, no demo-clock read, no login.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
