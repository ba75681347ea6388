"""The exported chain head: one HMAC-signed JSON line per export, appended to a file the province keeps
where the database's administrators cannot rewrite it (and/or posted to a webhook).

Whoever can write the database can cut the chain's tail and move `audit_head` back: the chain that is
left still verifies. The last exported head is the witness: verification fails unless the chain still
holds that event with that hash.

A line (version 2): {"alg": ..., "at": ..., "chain": ..., "hash": ..., "keyed_from": ..., "mac": ...,
"seq": ..., "v": 2}; the mac is the HMAC named by "alg" (the crypto suite's when exported: "hmac-sha256"
or "hmac-sm3"), under the audit key, of the other fields (canonical JSON after a domain label, so a
line's mac can never pass for an event's hash or the reverse). Version 1 lines, written before the
suites existed, have no "alg" and an HMAC-SHA256 mac: they still parse.
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from app.audit.models import KEYED, KEYED_ALGS
from app.audit.service import ChainKey, ExportedHead

VERSION = 2
_DOMAINS = {1: b"govflow audit head v1\n", 2: b"govflow audit head v2\n"}
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
# Read the file from its end, this much first (a line is ~250 bytes), more only when needed.
_TAIL_BYTES = 64 * 1024


def _fields(head: ExportedHead, version: int) -> dict[str, Any]:
    fields = {"v": version, "chain": head.chain, "seq": head.seq, "hash": head.hash,
              "keyed_from": head.keyed_from, "at": head.at}
    if version >= 2:
        fields["alg"] = head.alg
    return fields


def _mac(key: ChainKey, alg: str, version: int, fields: dict[str, Any]) -> str:
    return key.mac_under(alg, _DOMAINS[version] + _CANONICAL.encode(fields).encode("utf-8"))


def head_line(key: ChainKey, head: ExportedHead) -> str:
    """Return the signed line (newline included) that exports a head, its mac under the key's algorithm."""
    fields = _fields(replace(head, alg=key.alg), VERSION)
    return _CANONICAL.encode({**fields, "mac": _mac(key, key.alg, VERSION, fields)}) + "\n"


def parse_line(key: ChainKey, line: str | bytes) -> ExportedHead | None:
    """Return the head a line exports, or None if it is not a line of ours or its mac does not verify."""
    try:
        data = json.loads(line)
        if not isinstance(data, dict) or data.get("v") not in _DOMAINS or type(data["v"]) is not int:
            return None
        version = data["v"]
        alg = KEYED if version == 1 else data["alg"]
        if alg not in KEYED_ALGS:
            return None
        keyed_from = data["keyed_from"]
        head = ExportedHead(chain=str(data["chain"]), seq=int(data["seq"]), hash=str(data["hash"]),
                            keyed_from=None if keyed_from is None else int(keyed_from), at=str(data["at"]),
                            alg=alg)
        # As bytes: compare_digest refuses a str with non-ASCII characters (a damaged line must not raise).
        mac = str(data["mac"]).encode("utf-8", "replace")
        expected = _mac(key, alg, version, _fields(head, version)).encode("ascii")
    except (ValueError, TypeError, KeyError):  # JSONDecodeError, UnicodeError (a lone surrogate) are ValueErrors
        return None
    return head if hmac.compare_digest(expected, mac) else None


def append_line(path: Path, line: str) -> None:
    """Append one line to the file in one write (O_APPEND: concurrent exporters never interleave), synced."""
    data = line.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        if os.write(fd, data) != len(data):
            raise OSError(f"short write to {path}")
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class LatestHead:
    """What the export file says about a chain: its latest exported head, or why there is none."""

    status: Literal["found", "missing", "unreadable", "none_for_chain"]
    head: ExportedHead | None = None
    ignored: int = 0  # lines of other chains, damaged lines, or lines whose mac does not verify
    error: str | None = None


def latest_head(path: Path, key: ChainKey, chain: str) -> LatestHead:
    """Return this chain's exported head with the highest seq, the latest of equals (replicas may append
    out of order)."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            want = _TAIL_BYTES
            while True:
                start = max(0, size - want)
                f.seek(start)
                lines = f.read(size - start).split(b"\n")
                if start > 0:
                    lines = lines[1:]  # begins mid-line
                heads = [parse_line(key, line) for line in lines if line.strip()]
                ours = [h for h in heads if h is not None and h.chain == chain]
                if ours or start == 0:
                    break
                want *= 4
    except FileNotFoundError:
        return LatestHead("missing")
    except OSError as exc:
        return LatestHead("unreadable", error=f"{type(exc).__name__}: {exc}")
    ignored = len(heads) - len(ours)
    if not ours:
        return LatestHead("none_for_chain", ignored=ignored)
    return LatestHead("found", head=max(ours, key=lambda h: (h.seq, h.at)), ignored=ignored)
