"""Benchmark: a dispute action at round 1 and at round 500 (case pages return the latest history only).

Over HTTP against a service of its own (uvicorn on a fresh, migrated, seeded SQLite file; port 8130 by
default), or a running demo with --url: a refused share request, a dispute over it, then negotiation
rounds (the provider's position, the requester's answer "continue": the dispute's loop). One dispute is
driven to round --rounds with those two calls; then --samples rounds of it are timed, alternating with
the first --samples rounds of a second, fresh dispute. Each action's answer is the dispute as the API shows it (its
latest records and history lines). Prints per action: median ms and response bytes at round 1 and at
round N, their ratio; the same for GET /api/disputes/{id} and the dispute page's 「更早的记录」 fragment.
Target: an action at round 500 <= 1.2x the same action at round 1.

    .venv/bin/python bench/case_rounds.py                    # 500 rounds, own service on port 8130
    .venv/bin/python bench/case_rounds.py --rounds 100 --url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from share_request import BODY, PASSWORD, start_service  # noqa: E402

NOT_SHARE = {"stance": "not_share", "position": "户籍信息涉及个人隐私，不宜批量提供",
             "basis": "《个人信息保护法》第三十四条"}
DISPUTE = {"duties": "《社会保险法》第七十四条：社会保险经办机构核查参保人员资格",
           "need": "养老金资格认证须核验户籍状态，无法以其他方式取得"}


def _token(http: httpx.Client, user: str) -> dict[str, str]:
    r = http.post("/api/auth/token", data={"username": user, "password": PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _ok(r: httpx.Response) -> dict[str, Any]:
    if r.status_code >= 400:
        raise SystemExit(f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text[:500]}")
    return r.json()  # type: ignore[no-any-return]


def open_dispute(http: httpx.Client, clerk: dict[str, str], reviewer: dict[str, str]) -> int:
    """File a conditional share request, have the provider refuse it, and open a dispute over it."""
    request = _ok(http.post("/api/share-requests", json=BODY, headers=clerk))
    todo = _ok(http.get("/api/tasks", params={"view": "todo"}, headers=reviewer))["items"]
    [task] = [t for t in todo if t["instance_id"] == request["instance_id"]]
    _ok(http.post(f"/api/tasks/{task['id']}/complete", headers=reviewer, json={"data": {
        "decision": "refuse", "reason": "申请用途超出共享条件", "legal_basis": "《户口登记条例》第三条"}}))
    dispute = _ok(http.post("/api/disputes", json={"share_request_id": request["id"], **DISPUTE}, headers=clerk))
    return int(dispute["id"])


class Round:
    """One negotiation round, timed call by call."""

    def __init__(self, http: httpx.Client, dispute_id: int, clerk: dict[str, str], reviewer: dict[str, str]):
        self.http, self.dispute_id, self.clerk, self.reviewer = http, dispute_id, clerk, reviewer
        self.samples: dict[str, list[tuple[float, int]]] = {}

    def _call(self, name: str, method: str, url: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
        t0 = time.perf_counter()
        r = self.http.request(method, url, headers=headers, **kw)
        elapsed = (time.perf_counter() - t0) * 1000
        if r.status_code >= 400:
            raise SystemExit(f"{method} {url} -> {r.status_code}: {r.text[:500]}")
        self.samples.setdefault(name, []).append((elapsed, len(r.content)))
        return r

    def run(self, n: int, timed: bool = True) -> dict[str, Any]:
        base = f"/api/disputes/{self.dispute_id}"
        if not timed:  # driving a dispute on: the two calls of a round, nothing else
            _ok(self.http.post(f"{base}/provider-position", headers=self.reviewer,
                               json={**NOT_SHARE, "position": f"第{n}轮：仍不同意"}))
            return _ok(self.http.post(f"{base}/requester-reply", headers=self.clerk,
                                      json={"response": "continue", "position": f"第{n}轮：请再考虑"}))
        self._call("provider-position", "POST", f"{base}/provider-position", self.reviewer,
                   json={**NOT_SHARE, "position": f"第{n}轮：仍不同意"})
        d = self._call("requester-reply", "POST", f"{base}/requester-reply", self.clerk,
                       json={"response": "continue", "position": f"第{n}轮：请再考虑"}).json()
        self._call("GET dispute", "GET", base, self.clerk)
        if d.get("history_next_cursor"):
            self._call("GET history (earlier)", "GET", f"{base}/history", self.clerk,
                       params={"cursor": d["history_next_cursor"]})
        return d


def _median(samples: list[tuple[float, int]]) -> tuple[float, int]:
    return statistics.median(s[0] for s in samples), int(statistics.median(s[1] for s in samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500, help="the late round to time (default 500)")
    parser.add_argument("--samples", type=int, default=15, help="rounds timed at each end (default 15)")
    parser.add_argument("--url", help="a running service with the demo seed (default: start one)")
    parser.add_argument("--port", type=int, default=8130)
    args = parser.parse_args()
    proc = None
    url = args.url
    if url is None:
        proc, url = start_service(args.port)
    try:
        with httpx.Client(base_url=url, timeout=120) as http:
            clerk, reviewer = _token(http, "rst_clerk"), _token(http, "gat_reviewer")
            # Dispute A goes to round N; dispute B, opened after, gives the round-1 figures. The timed
            # rounds of both alternate, so both ends see the same machine (other load, a warm service).
            dispute_id = open_dispute(http, clerk, reviewer)
            t0 = time.perf_counter()
            drive = Round(http, dispute_id, clerk, reviewer)
            for n in range(1, args.rounds):
                drive.run(n, timed=False)
            driven = time.perf_counter() - t0
            fresh = open_dispute(http, clerk, reviewer)
            early = Round(http, fresh, clerk, reviewer)
            late = Round(http, dispute_id, clerk, reviewer)
            for k in range(args.samples):
                early.run(1 + k)
                d = late.run(args.rounds + k)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
    print(f"dispute #{dispute_id} driven to round {args.rounds} in {driven:.1f} s; rounds {args.rounds}-"
          f"{args.rounds + args.samples - 1} timed against rounds 1-{args.samples} of dispute #{fresh}, alternately; "
          f"at the end {d['negotiation_rounds']} rounds, "
          f"{len(d['records'])} records and {len(d['history'])} history lines in each answer")
    print(f"{'call':<24}{'ms r1':>9}{'ms rN':>9}{'ratio':>8}{'bytes r1':>11}{'bytes rN':>11}")
    worst = 0.0
    for name in late.samples:
        if name not in early.samples:
            continue  # B's history fits on one page in its first rounds: nothing earlier to read
        ms1, b1 = _median(early.samples[name])
        msn, bn = _median(late.samples[name])
        ratio = msn / ms1
        if name in ("provider-position", "requester-reply"):
            worst = max(worst, ratio)
        print(f"{name:<24}{ms1:>9.1f}{msn:>9.1f}{ratio:>8.2f}{b1:>11}{bn:>11}")
    verdict = "OK" if worst <= 1.2 else "ABOVE TARGET"
    print(f"case action at round {args.rounds} vs round 1: worst ratio {worst:.2f} (target <= 1.2) {verdict}")


if __name__ == "__main__":
    main()
