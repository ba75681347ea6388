"""A count kept by this process since it started, safe across its threads (read by /metrics)."""

from __future__ import annotations

import threading


class ProcessCounter:
    """Add one at a time from any thread; read `value`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1
