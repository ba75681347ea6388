"""Command line: `python -m app.cli migrate | seed-demo | verify-audit | load-calendar FILE | backup | restore
| rotate-keys | encrypt-attachments` (also installed as the console script `govflow`).

Exit codes: 0 done; 1 the audit chain is broken (verify-audit), an archive or file failed its checksum
(usage-search, encrypt-attachments); 2 bad input, invalid settings or a database not
migrated; 3 the database cannot be reached. Each failure is one Chinese line on stderr, no traceback.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path

try:
    from alembic import command
    from alembic.config import Config

    from app.core.config import ROOT, get_settings
except ImportError as exc:  # pragma: no cover - a Python without the project's packages
    if __name__ != "__main__":
        raise
    # The system's python (not the virtualenv's) finds none of the dependencies; once it also found the
    # repository's alembic/ folder as an empty namespace package and said "cannot import name 'command'".
    sys.exit(f"缺少依赖（{exc}）：请用虚拟环境中的 Python 运行，如 `.venv/bin/python -m app.cli …` 或 "
             f"`.venv/bin/govflow …`（先运行 `make install`）。Run it with the virtualenv's Python.")


def migrate(url: str | None = None) -> None:
    """Upgrade the database to the newest migration."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", url or get_settings().database_url)
    command.upgrade(cfg, "heads")


def _fail(message: str, code: int = 2) -> int:
    print(message, file=sys.stderr)
    return code


def guarded(run: Callable[[], int]) -> int:
    """Run a command, turning what an operator can get wrong into one clear line and an exit code."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError, OperationalError

    from app.core.errors import DomainError
    from app.startup import NotMigrated

    try:
        return run()
    except ValidationError as exc:  # settings read from GOVFLOW_* variables
        # Each error's place and message only, never its input (a secret, a master key).
        problems = "；".join(f"{'.'.join(map(str, e['loc'])) or '设置'}：{e['msg'].removeprefix('Value error, ')}"
                            for e in exc.errors(include_input=False))
        return _fail(f"配置无效（请检查 GOVFLOW_* 环境变量或 .env）：{problems}")
    except SettingsError as exc:  # a variable that holds JSON (a dict, a list) does not parse; never show its value
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"GOVFLOW_{field.group(1).upper()}" if field else "某个 GOVFLOW_* 变量"
        return _fail(f"配置无效（请检查 GOVFLOW_* 环境变量或 .env）：{name} 的值不是有效的 JSON")
    except NotMigrated as exc:
        return _fail(str(exc))
    except DomainError as exc:
        return _fail(f"失败：{exc.message_zh}（{exc.code}）")
    except (OperationalError, DBAPIError) as exc:
        url = make_url(get_settings().database_url).render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        return _fail(f"无法连接数据库 {url}：{reason}。请检查 GOVFLOW_DATABASE_URL 以及数据库是否已启动。", 3)


class CommandError(Exception):
    """A command cannot run as asked; its message says why, in Chinese. Exit code 2 unless told."""

    code = 2


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise CommandError(f"找不到文件“{path}”") from None
    except IsADirectoryError:
        raise CommandError(f"“{path}”是目录，请给出 JSON 文件") from None
    except PermissionError:
        raise CommandError(f"没有读取文件“{path}”的权限") from None
    except OSError as exc:
        raise CommandError(f"无法读取文件“{path}”：{exc.strerror or exc}") from None


def main(argv: list[str] | None = None) -> int:
    """Run one command."""
    def run() -> int:
        try:
            return _run(argv)
        except CommandError as exc:
            return _fail(f"失败：{exc}", exc.code)
    return guarded(run)


def _run(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.cli", description="GovFlow 管理命令")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate", help="执行数据库迁移")
    sub.add_parser("seed-demo", help="导入演示数据（区划、部门、用户、目录）")
    check = sub.add_parser("verify-audit", help="校验审计链（重算带密钥的哈希链，并对照最近导出的链头；"
                                                 "按哈希算法分段列出，如 HMAC-SHA256、HMAC-SM3）",
                           description="退出码：0 完整且与导出的链头一致；1 已损坏；2 可重算通过但没有可对照的导出链头")
    check.add_argument("--head-file", help="导出链头的文件（默认 GOVFLOW_AUDIT_HEAD_EXPORT_PATH），"
                                            "如从 webhook 接收方取回的副本")
    load = sub.add_parser("load-calendar", help="导入某年节假日安排（holiday-cn JSON 文件）")
    load.add_argument("file", help="holiday-cn 格式的 JSON 文件，如 2027.json")
    save = sub.add_parser("backup", help="备份数据库、附件和审计链头导出文件到一个归档（第二十四条 定期备份）",
                          description="打印生成的归档路径。数据库为 PostgreSQL 时需要 pg_dump（postgresql-client）。")
    save.add_argument("--out", type=Path, help="备份目录（默认 GOVFLOW_BACKUP_DIR，即 var/backups）")
    back = sub.add_parser("restore", help="从备份归档恢复（第二十七条 灾难恢复）",
                          description="先核对归档中每个文件的校验值，再恢复；目标数据库不是空的时需加 --yes。")
    back.add_argument("archive", type=Path, help="backup 生成的 .tar 归档")
    back.add_argument("--database-url", help="恢复到这个数据库（默认 GOVFLOW_DATABASE_URL）；PostgreSQL 须已建库")
    back.add_argument("--attachments-dir", type=Path, help="附件恢复到这里（默认 GOVFLOW_ATTACHMENTS_DIR）")
    back.add_argument("--audit-head-file", type=Path,
                      help="审计链头导出文件（默认 GOVFLOW_AUDIT_HEAD_EXPORT_PATH）；已有的记录保留，只补入缺少的")
    back.add_argument("--yes", action="store_true", help="确认覆盖不是空的目标数据库")
    search = sub.add_parser("usage-search", help="查询数据提供使用日志（第十二条）：数据库和归档文件一并查询，先核对归档校验值",
                            description="每条记录输出一行 JSON（source 为 database 或归档文件名）。"
                                        "退出码：0 完成；1 有归档文件校验不符（不读取该文件）。")
    search.add_argument("--grant", type=int, required=True, help="共享授权编号")
    search.add_argument("--from", dest="date_from", help="起始日期（含），YYYY-MM-DD，北京时间")
    search.add_argument("--to", dest="date_to", help="截止日期（含），YYYY-MM-DD，北京时间")
    search.add_argument("--archive-dir", type=Path, help="归档目录（默认 GOVFLOW_USAGE_ARCHIVE_DIR）")
    sub.add_parser("rotate-keys", help="用当前主密钥重新封装全部数据密钥和签名私钥（文件、签名不变）",
                   description="先在 GOVFLOW_MASTER_KEYS 中加入新主密钥并以 GOVFLOW_MASTER_KEY_ID 指定为当前，"
                               "旧主密钥保留到本命令完成。分批提交，可中断后重跑；已在当前主密钥下的跳过。")
    enc = sub.add_parser("encrypt-attachments", help="把加密功能开启前上传的明文附件加密保存（可重复运行）",
                         description="逐个加密明文附件文件、改登记，再删除不再被引用的明文文件。"
                                     "须已设置 GOVFLOW_ENCRYPT_ATTACHMENTS=true；运行时不要同时备份。")
    enc.add_argument("--batch", type=int, default=100, help="每批处理的附件数（默认 100）")
    args = parser.parse_args(argv)
    from app.core.logs import configure_logging

    # A command's own output is its printed lines; the log (stderr) carries warnings and errors only.
    configure_logging(get_settings(), level=logging.WARNING)
    if args.cmd == "migrate":
        migrate()
        print("数据库已迁移到最新版本")
        return 0
    if args.cmd == "backup":
        from app.backup import backup

        path, manifest = backup(get_settings(), args.out)
        files = manifest["attachments"]
        head = manifest["audit_head"] or {}
        print(f"备份完成：数据库结构版本 {manifest['database']['alembic_revision']}，附件 {files['count']} 个"
              f"（{files['bytes']} 字节），审计链头第 {head.get('seq', 0)} 条", file=sys.stderr)
        print(path)
        return 0
    if args.cmd == "restore":
        from app.backup import restore, summary_zh

        restored = restore(get_settings(), args.archive, database_url=args.database_url,
                           attachments_dir=args.attachments_dir, audit_head_file=args.audit_head_file, yes=args.yes)
        print("\n".join(summary_zh(restored, args.archive)))
        return 0
    from app.runtime import build_runtime
    from app.startup import check_migrated

    rt = build_runtime(get_settings())
    check_migrated(rt)
    if args.cmd == "usage-search":
        from app.usage.search import search_usage

        return search_usage(rt, grant_id=args.grant, date_from=args.date_from, date_to=args.date_to,
                            directory=args.archive_dir)
    if args.cmd == "rotate-keys":
        return _rotate_keys(rt)
    if args.cmd == "encrypt-attachments":
        return _encrypt_attachments(rt, args.batch)
    if args.cmd == "seed-demo":
        from app.org.seed import load_demo
        from app.startup import prepare

        prepare(rt)
        with rt.db.session() as session:
            counts = load_demo(session, rt.settings.province_code)
            session.commit()
        print(f"演示数据已导入：部门 {counts['departments']}，用户 {counts['users']}，目录条目 {counts['catalog_entries']}")
        return 0
    if args.cmd == "load-calendar":
        from app.core.errors import DomainError
        from app.workdays.flows import load_year

        payload = _read(args.file)
        with rt.db.session() as session:
            try:
                result = load_year(session, rt.calendar, "cli", payload)
            except DomainError as exc:
                print(f"导入失败：{exc.message_zh}（{exc.code}）", file=sys.stderr)
                return 2
        print(f"已导入 {result['year']} 年安排：{result['days']} 天；重算暂定期限 {len(result['recomputed_tasks'])} 项")
        return 0
    from app.audit.flows import check as check_audit

    path = Path(args.head_file) if args.head_file else rt.settings.audit_head_export_path
    with rt.db.session() as session:
        outcome = check_audit(session, path=path)
    print("\n".join(outcome.lines_zh()), file=sys.stdout if outcome.exit_code == 0 else sys.stderr)
    return outcome.exit_code


def _keyring(rt):  # type: ignore[no-untyped-def]
    from app.crypto.keys import KeyringError

    try:
        return rt.settings.keyring()
    except KeyringError as exc:
        raise CommandError(str(exc)) from None


def _rotate_keys(rt) -> int:  # type: ignore[no-untyped-def]
    """Re-seal every registered kind of sealed key under the current master key; print the counts."""
    import app.attachments.service  # noqa: F401  (registers the attachments' re-sealer)
    import app.signing.keys  # noqa: F401  (registers the signing keys' re-sealer)
    from app.crypto import rotation
    from app.crypto.algorithms import LABELS_ZH
    from app.crypto.keys import KeyringError

    keyring = _keyring(rt)
    with rt.db.session() as session:
        try:
            counts = rotation.rotate_all(session, keyring)
        except KeyringError as exc:
            raise CommandError(f"{exc}（此前的批次已提交；配置好主密钥后重新运行即可继续）") from None
    print(f"当前主密钥：{keyring.current}，封装算法 {LABELS_ZH.get(keyring.cipher, keyring.cipher)}")
    for name, count in counts.items():
        print(f"{rotation.RESEALERS[name].label_zh}：重新封装 {count} 个")
    return 0


def _encrypt_attachments(rt, batch: int) -> int:  # type: ignore[no-untyped-def]
    """Encrypt the plaintext attachment files (uploaded before encryption was turned on)."""
    from app.attachments.service import encrypt_existing

    if not rt.settings.encrypt_attachments:
        raise CommandError("未开启附件加密：请先设置 GOVFLOW_ENCRYPT_ATTACHMENTS=true（并配置主密钥）")
    if batch < 1:
        raise CommandError("--batch 须为正整数")
    _keyring(rt)
    with rt.db.session() as session:
        result = encrypt_existing(session, rt.settings, batch=batch)
    for line in result["problems"]:
        print(line, file=sys.stderr)
    print(f"已加密附件 {result['encrypted']} 个，删除明文文件 {result['removed']} 个"
          + (f"；{result['skipped']} 个未加密（文件缺失或校验不符，见上）" if result["skipped"] else ""))
    return 0 if not result["skipped"] else 1


if __name__ == "__main__":
    sys.exit(main())
