"""Run the scheduler as its own process: `python -m app.scheduler` (or `--once JOB` to run one job now)."""

import argparse
import json
import sys

from app.core.config import get_settings
from app.core.logs import configure_logging
from app.runtime import build_runtime
from app.scheduler.setup import JOBS, build_scheduler, run_job
from app.startup import check_migrated


def main(argv: list[str] | None = None) -> int:
    """Start the blocking scheduler on the configured database, or run one job and exit."""
    from app.cli import guarded  # bad settings or an unreachable database: one clear line, no traceback

    return guarded(lambda: _run(argv))


def _run(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.scheduler", description="GovFlow 定时任务")
    parser.add_argument("--once", choices=sorted(JOBS), help="立即运行一次指定任务后退出")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings)
    rt = build_runtime(settings)
    check_migrated(rt)  # as the web process: refuse an old schema rather than fail in every job
    if args.once:
        print(json.dumps({"job": args.once, "result": run_job(rt, args.once)}))
        return 0
    try:
        scheduler = build_scheduler(rt, background=False)
    except ValueError as exc:  # GOVFLOW_JOB_INTERVALS names a job that does not exist
        print(exc, file=sys.stderr)
        return 2
    scheduler.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
