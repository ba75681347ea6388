"""Benchmark (issue 15, Art. 26): what the national algorithms cost where GovFlow uses them.

(a) A 10 MB attachment through the storage code: ``app.attachments.service.write_file`` as an upload runs it
    (type check, chunked write, checksum, and with encryption on: a fresh data key sealed by the master
    keyring, chunked GCM encryption) and ``read_file`` as a download runs it (decryption, the GCM tag and
    the checksum verified before a byte is returned). Under the "sm" suite (SM4-GCM, SM3) and the "intl"
    suite (AES-256-GCM, SHA-256), against storing the file plaintext (encryption off, intl checksum).
    The files go to a temporary folder (removed afterwards); no database is involved.
(b) Signing and verifying a decision: ``algorithms.sign``/``verify`` of a ~2 KB canonical JSON document (a
    rectification notice, UTF-8, sorted keys) with sm2-sm3 and with ecdsa-p256-sha256.

Also the bare primitives' throughput over the same buffer (SHA-256, SM3, AES-256-GCM, SM4-GCM), which says
where the attachment time goes. Prints the median and p90 (ms) of each operation, one readable line per
case, then one JSON line.

    .venv/bin/python bench/crypto.py                          # 20 files of 10 MB, 200 signatures
    .venv/bin/python bench/crypto.py --n-files 5 --n-signatures 50 --size-mb 10
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-key-that-is-long-enough-0123456789"
MASTER = base64.b64encode(hashlib.sha256(b"bench master key").digest()).decode()
CASES = {  # name -> (crypto_suite, encrypt_attachments)
    "plain": ("intl", False),
    "intl": ("intl", True),
    "sm": ("sm", True),
}


def stats(times: list[float]) -> dict[str, float]:
    """Median and p90 of a list of milliseconds (p90 by linear interpolation, as numpy's default)."""
    ordered = sorted(times)
    k = (len(ordered) - 1) * 0.9
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    p90 = ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
    return {"median": round(statistics.median(ordered), 3), "p90": round(p90, 3), "n": len(ordered)}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = fn()
    return (time.perf_counter() - began) * 1000, result


def attachments(size: int, n: int) -> dict[str, Any]:
    """Upload and download a file of `size` bytes n times per case through the storage code."""
    from app.attachments.models import Attachment
    from app.attachments.service import read_file, write_file
    from app.core.clock import clock
    from app.core.config import Settings

    data = b"%PDF-1.7\n" + os.urandom(size - 9)
    results: dict[str, Any] = {}
    folder = Path(tempfile.mkdtemp(prefix="govflow-bench-crypto-"))
    try:
        for case, (suite, encrypt) in CASES.items():
            settings = Settings(environment="test", secret_key=SECRET, attachments_dir=folder / case,
                                crypto_suite=suite, encrypt_attachments=encrypt, master_keys={"bench": MASTER},
                                attachment_max_bytes=max(size, 10 * 1024 * 1024))
            uploads, downloads = [], []
            for i in range(n + 1):  # the first round warms the caches and is not counted
                ms_up, stored = timed(lambda: write_file(settings, "决定书附件.pdf", io.BytesIO(data)))
                row = Attachment(owner_type="bench", owner_id=1, filename="决定书附件.pdf", uploaded_by_id=1,
                                 department_id=1, uploaded_at=clock.now(), **stored.__dict__)
                ms_down, got = timed(lambda: read_file(settings, row))
                if len(got) != size or bytes(got[:9]) != data[:9]:
                    raise SystemExit(f"{case}: the download is not the upload")
                del got
                for child in (folder / case).iterdir():  # every case writes to an empty folder
                    shutil.rmtree(child)
                if i:
                    uploads.append(ms_up)
                    downloads.append(ms_down)
            results[case] = {"cipher": stored.cipher, "checksum_alg": stored.checksum_alg,
                             "upload_ms": stats(uploads), "download_ms": stats(downloads)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return results


def notice_document() -> bytes:
    """A rectification notice (整改通知书) as canonical JSON, about 2 KB."""
    doc = {
        "kind": "rectification_notice", "number": "豫数整改〔2026〕第017号",
        "authority": {"code": "410000-data", "name": "河南省大数据管理局"},
        "department": {"code": "410000-rst", "name": "河南省人力资源和社会保障厅"},
        "article": "《政务数据共享条例》第二十六条第一项",
        "facts": ("经核查，截至2026年10月31日，你单位未按要求编制并发布本部门2026年度政务数据共享目录，"
                  "已编制的目录中有12项数据资源未标明共享属性和更新周期，3项数据资源的提供方式与实际不符，"
                  "影响其他部门依法获取和使用共享数据。"),
        "requirements": ("请你单位自收到本通知之日起10个工作日内完成以下整改：一、编制本部门政务数据共享目录，"
                         "逐项标明共享属性、共享条件、更新周期和提供方式；二、经本级政务数据主管部门审定后发布；"
                         "三、对目录与实际不符的数据资源逐项核实更正；四、将整改情况书面报送本机关，并附相关证明材料。"
                         "逾期未整改或整改不到位的，依照条例有关规定处理。"),
        "deadline": {"working_days": 10, "due_on": "2026-12-18"},
        "issued_at": datetime(2026, 12, 4, 9, 30, tzinfo=timezone.utc).isoformat(),
        "issued_by": {"username": "data_reviewer", "name": "王芳（省大数据局审核员）"},
        "attachments": [{"filename": f"核查记录{i}.pdf", "sha256": hashlib.sha256(str(i).encode()).hexdigest()}
                        for i in range(4)],
        "contact": {"name": "李明", "phone": "0371-65500000", "address": "郑州市郑东新区商务外环路"},
        "remedy": "如对本通知有异议，可自收到本通知之日起五个工作日内向本机关提出书面说明。",
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def primitives(size: int, n: int) -> dict[str, Any]:
    """Throughput (MB/s, median of n) of the bare primitives over one buffer: where the attachment time goes."""
    from app.crypto import algorithms

    data = os.urandom(size)
    results: dict[str, Any] = {}

    def encrypt(cipher: str) -> Callable[[], Any]:
        key = algorithms.new_key(cipher)
        return lambda: (lambda e: (e.update(data), e.finalize()))(
            algorithms.StreamEncryptor(cipher, key, os.urandom(12)))

    cases: dict[str, Callable[[], Any]] = {
        "sha256": lambda: algorithms.digest_hex("sha256", data), "sm3": lambda: algorithms.digest_hex("sm3", data),
        "aes-256-gcm": encrypt("aes-256-gcm"), "sm4-gcm": encrypt("sm4-gcm")}
    for name, fn in cases.items():
        times = [timed(fn)[0] for _ in range(n + 1)][1:]
        results[name] = round(size / 1024 / 1024 / (statistics.median(times) / 1000), 1)
    return results


def signatures(n: int) -> dict[str, Any]:
    from app.crypto import algorithms

    message = notice_document()
    results: dict[str, Any] = {"document_bytes": len(message)}
    for alg in ("sm2-sm3", "ecdsa-p256-sha256"):
        pair = algorithms.generate_keypair(alg)
        signs, verifies = [], []
        for i in range(n + 1):
            ms_sign, signature = timed(lambda: algorithms.sign(alg, pair.private, pair.public_pem, message))
            ms_verify, ok = timed(lambda: algorithms.verify(alg, pair.public_pem, message, signature))
            if not ok:
                raise SystemExit(f"{alg}: a fresh signature did not verify")
            if i:
                signs.append(ms_sign)
                verifies.append(ms_verify)
        results[alg] = {"sign_ms": stats(signs), "verify_ms": stats(verifies)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-files", type=int, default=20, help="uploads and downloads per case (default 20)")
    parser.add_argument("--n-signatures", type=int, default=200, help="signatures per algorithm (default 200)")
    parser.add_argument("--size-mb", type=float, default=10.0, help="attachment size in MB (default 10)")
    args = parser.parse_args()
    if args.n_files < 1 or args.n_signatures < 1 or args.size_mb <= 0:
        parser.error("--n-files, --n-signatures and --size-mb must be positive")
    size = int(args.size_mb * 1024 * 1024)
    files = attachments(size, args.n_files)
    speeds = primitives(size, args.n_files)
    signed = signatures(args.n_signatures)
    for case, r in files.items():
        label = {"plain": "plaintext (no encryption, SHA-256)", "intl": "intl: AES-256-GCM + SHA-256",
                 "sm": "sm: SM4-GCM + SM3"}[case]
        print(f"attachment {args.size_mb:g} MB, {label}: upload median {r['upload_ms']['median']:.1f} ms "
              f"(p90 {r['upload_ms']['p90']:.1f}), download median {r['download_ms']['median']:.1f} ms "
              f"(p90 {r['download_ms']['p90']:.1f}), n={args.n_files}")
    print("primitives, MB/s (median): " + ", ".join(f"{k} {v:g}" for k, v in speeds.items()))
    for alg in ("sm2-sm3", "ecdsa-p256-sha256"):
        r = signed[alg]
        print(f"decision {signed['document_bytes']} B, {alg}: sign median {r['sign_ms']['median']:.2f} ms "
              f"(p90 {r['sign_ms']['p90']:.2f}), verify median {r['verify_ms']['median']:.2f} ms "
              f"(p90 {r['verify_ms']['p90']:.2f}), n={args.n_signatures}")
    print(json.dumps({"bench": "crypto", "size_bytes": size, "attachments": files, "primitives_mb_s": speeds,
                      "signatures": signed},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
