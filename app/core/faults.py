"""Fault injection for crash tests: GOVFLOW_FAULT=<point> makes the process die at that point.

Tests start a real scheduler process with it to prove that a crash between claiming work and
recording its effect loses nothing and duplicates nothing. Unset in every real deployment.
"""

import os


def crash_point(name: str) -> None:
    """Kill the process here, abruptly (no cleanup, no commit), when GOVFLOW_FAULT names this point."""
    if os.environ.get("GOVFLOW_FAULT") == name:
        os._exit(86)
