"""Benchmark: pages with a bpmn-js diagram, loaded in headless Chromium until the diagram is drawn.

Cases (each a URL and a readiness selector the page's script sets when the diagram is on screen):
- instance: a reviewer's task page (/tasks/<id>) until its 流程图 is rendered
  (`#diagram .gf-diagram-host[data-rendered]`, set by the viewer bundle after import, markers and fit);
- modeler: a designer's draft (/designer/drafts/<id>) until `.djs-container` exists and `[data-ready]` is
  set by the page (skipped with a message while that page or the drafts API answers 404).

Each case: one cold load (fresh browser context, empty cache), then N warm loads (same context: the
bundles come from the browser cache after revalidation, as for a person working through the day). Time
is the page's own clock: from navigation start to the moment the readiness selector first matches
(a MutationObserver installed before any page script), so Playwright's polling is not counted.
Prints median and p90 in ms per case, and the byte and gzip sizes of static/vendor/govflow-*.{js,css}.
Goal: median under 300 ms.

    .venv/bin/python bench/page_load.py              # its own service on a fresh seeded SQLite file
    .venv/bin/python bench/page_load.py --n 50 --url http://127.0.0.1:8000   # a running demo
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from share_request import BODY, PASSWORD, ROOT, start_service  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1366, "height": 768}

# Installed before any page script: record when the readiness selector first matches.
_WATCH = """
(() => {
  const selector = %s;
  const check = () => {
    if (window.__govflowReadyAt === undefined && document.querySelector(selector)) {
      window.__govflowReadyAt = performance.now();
      return true;
    }
    return window.__govflowReadyAt !== undefined;
  };
  const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
  observer.observe(document, { childList: true, subtree: true, attributes: true });
})();
"""


@dataclass
class Case:
    name: str
    username: str
    url: str | None  # None: skipped
    ready: str  # CSS selector that matches once the diagram is drawn
    skipped: str | None = None


def _token(http: httpx.Client, username: str) -> dict[str, str]:
    r = http.post("/api/auth/token", data={"username": username, "password": PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def instance_case(http: httpx.Client, n: int) -> tuple[Case, dict[str, float]]:
    """A fresh share request under review: the reviewer's task page with its diagram; also the diagram
    API alone (n calls, ms per call as the client sees it)."""
    r = http.post("/api/share-requests", json=BODY, headers=_token(http, "rst_clerk"))
    r.raise_for_status()
    instance_id = r.json()["instance_id"]
    reviewer = _token(http, "gat_reviewer")
    todo = http.get("/api/tasks", params={"limit": 500}, headers=reviewer).json()["items"]
    task = next(t for t in todo if t["instance_id"] == instance_id)
    times = []
    for _ in range(n + 3):
        t0 = time.perf_counter()
        http.get(f"/api/instances/{instance_id}/diagram", headers=reviewer).raise_for_status()
        times.append((time.perf_counter() - t0) * 1000)
    times = sorted(times[3:])  # the first calls warm the caches (spec, graph, calendar)
    api = {"median_ms": round(statistics.median(times), 2),
           "p90_ms": round(times[max(0, int(len(times) * 0.9) - 1)], 2)}
    ready = "#diagram .gf-diagram-host[data-rendered]"
    return Case("instance", "gat_reviewer", f"/tasks/{task['id']}", ready), api


def modeler_case(http: httpx.Client) -> Case:
    """A designer's draft of the share-request process in the modeler page, when that page exists."""
    # Ready: the modeler's canvas exists and the page's helper has set data-ready (anywhere on the page).
    ready = "html:has(.djs-container):has([data-ready])"
    skipped = Case("modeler", "designer", None, ready)
    headers = _token(http, "designer")
    r = http.post("/api/designer/drafts", json={"process_key": "sharing_share_request", "from_version": 1},
                  headers=headers)
    if r.status_code == 404 or r.status_code == 405:
        skipped.skipped = (f"POST /api/designer/drafts answers {r.status_code}: "
                           "the designer API is not in this build")
        return skipped
    if r.status_code >= 400:
        skipped.skipped = f"POST /api/designer/drafts answers {r.status_code}: {r.text[:200]}"
        return skipped
    url = f"/designer/drafts/{r.json()['id']}"
    cookies = _page_cookies(http, "designer")
    page = http.get(url, cookies=cookies, follow_redirects=False)
    if page.status_code != 200:
        skipped.skipped = f"GET {url} answers {page.status_code}: the modeler page is not in this build"
        return skipped
    return Case("modeler", "designer", url, ready)


def _page_cookies(http: httpx.Client, username: str) -> httpx.Cookies:
    """Log in through the page form (CSRF token from the login page) and return the session cookies."""
    with httpx.Client(base_url=str(http.base_url), timeout=30) as fresh:
        login = fresh.get("/login")
        token = _csrf(login.text)
        fresh.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        return fresh.cookies


def _csrf(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.find(marker)
    return html[start + len(marker):html.find('"', start + len(marker))] if start >= 0 else ""


def _log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/tasks")


def _load(page: Any, case: Case) -> float:
    assert case.url is not None
    page.goto(case.url, wait_until="commit")
    page.wait_for_selector(case.ready, state="attached", timeout=20_000)
    return float(page.evaluate("window.__govflowReadyAt"))


def measure(browser: Any, base_url: str, case: Case, n: int) -> dict[str, Any]:
    """One cold load, then n warm ones: ms from navigation start to ready."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", base_url=base_url)
    try:
        page = context.new_page()
        _log_in(page, case.username)
        context.add_init_script(_WATCH % json.dumps(case.ready))
        cold = _load(page, case)
        warm = [_load(page, case) for _ in range(n)]
    finally:
        context.close()
    ordered = sorted(warm)
    return {"case": case.name, "url": case.url, "loads": n, "cold_ms": round(cold, 1),
            "median_ms": round(statistics.median(warm), 1),
            "p90_ms": round(ordered[max(0, int(len(ordered) * 0.9) - 1)], 1),
            "goal_median_ms": 300, "ok": statistics.median(warm) < 300}


def bundle_sizes() -> list[dict[str, Any]]:
    """The committed bundles: bytes on disk and gzipped (what a server with compression sends)."""
    rows = []
    for path in sorted((ROOT / "static" / "vendor").glob("govflow-*.*")):
        if path.suffix not in (".js", ".css"):
            continue
        data = path.read_bytes()
        rows.append({"file": f"static/vendor/{path.name}", "bytes": len(data),
                     "gzip_bytes": len(gzip.compress(data, compresslevel=9, mtime=0))})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20, help="warm loads per case")
    parser.add_argument("--url", help="a running service with the demo seed (default: start one)")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    proc = None
    url = args.url
    if url is None:
        proc, url = start_service(args.port)
    results: list[dict[str, Any]] = []
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            instance, api = instance_case(http, args.n)
            cases = [instance, modeler_case(http)]
        print(f"GET /api/instances/<id>/diagram: median {api['median_ms']} ms, p90 {api['p90_ms']} ms "
              f"over {args.n} calls")
        results.append({"case": "diagram_api", **api})
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM)
            try:
                for case in cases:
                    if case.url is None:
                        print(f"{case.name}: skipped ({case.skipped})")
                        results.append({"case": case.name, "skipped": case.skipped})
                        continue
                    result = measure(browser, url, case, args.n)
                    results.append(result)
                    print(f"{case.name} {case.url}: median {result['median_ms']} ms, "
                          f"p90 {result['p90_ms']} ms "
                          f"over {args.n} warm loads (cold {result['cold_ms']} ms); goal median < 300 ms: "
                          f"{'met' if result['ok'] else 'NOT met'}")
            finally:
                browser.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    sizes = bundle_sizes()
    for row in sizes:
        print(f"{row['file']}: {row['bytes']} bytes, {row['gzip_bytes']} gzipped")
    print(json.dumps({"pages": results, "bundles": sizes}, ensure_ascii=False))


if __name__ == "__main__":
    main()
