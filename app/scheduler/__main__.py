"""Run the scheduler as its own process: `python -m app.scheduler`."""

import logging

from app.core.config import get_settings
from app.runtime import build_runtime
from app.scheduler.setup import build_scheduler


def main() -> None:
    """Start the blocking scheduler on the configured database."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    rt = build_runtime(get_settings())
    build_scheduler(rt, background=False).start()


if __name__ == "__main__":
    main()
