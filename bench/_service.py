"""What the benchmarks that start their own service share."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import IO


def service_log(directory: str | Path | None = None) -> IO[bytes]:
    """A file for the service's own log lines (one access line per request), kept off the figures."""
    path = Path(directory or tempfile.mkdtemp(prefix="govflow-bench-")) / "service.log"
    print(f"service log: {path}", file=sys.stderr)
    return path.open("wb")
