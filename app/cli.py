"""Command line: `python -m app.cli migrate | seed-demo | verify-audit | serve-check`."""

from __future__ import annotations

import argparse
import sys

from alembic import command
from alembic.config import Config

from app.core.config import ROOT, get_settings


def migrate(url: str | None = None) -> None:
    """Upgrade the database to the newest migration."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", url or get_settings().database_url)
    command.upgrade(cfg, "heads")


def main(argv: list[str] | None = None) -> int:
    """Run one command."""
    parser = argparse.ArgumentParser(prog="python -m app.cli", description="GovFlow 管理命令")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate", help="执行数据库迁移")
    sub.add_parser("seed-demo", help="导入演示数据（区划、部门、用户、目录）")
    check = sub.add_parser("verify-audit", help="校验审计链（重算带密钥的哈希链，并对照最近导出的链头）",
                           description="退出码：0 完整且与导出的链头一致；1 已损坏；2 可重算通过但没有可对照的导出链头")
    check.add_argument("--head-file", help="导出链头的文件（默认 GOVFLOW_AUDIT_HEAD_EXPORT_PATH），"
                                            "如从 webhook 接收方取回的副本")
    load = sub.add_parser("load-calendar", help="导入某年节假日安排（holiday-cn JSON 文件）")
    load.add_argument("file", help="holiday-cn 格式的 JSON 文件，如 2027.json")
    args = parser.parse_args(argv)
    if args.cmd == "migrate":
        migrate()
        print("数据库已迁移到最新版本")
        return 0
    from app.runtime import build_runtime

    rt = build_runtime(get_settings())
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
        from pathlib import Path

        from app.core.errors import DomainError
        from app.workdays.flows import load_year

        with rt.db.session() as session:
            try:
                result = load_year(session, rt.calendar, "cli", Path(args.file).read_bytes())
            except DomainError as exc:
                print(f"导入失败：{exc.message_zh}（{exc.code}）", file=sys.stderr)
                return 2
        print(f"已导入 {result['year']} 年安排：{result['days']} 天；重算暂定期限 {len(result['recomputed_tasks'])} 项")
        return 0
    from pathlib import Path

    from app.audit.flows import check as check_audit

    path = Path(args.head_file) if args.head_file else rt.settings.audit_head_export_path
    with rt.db.session() as session:
        outcome = check_audit(session, path=path)
    print("\n".join(outcome.lines_zh()), file=sys.stdout if outcome.exit_code == 0 else sys.stderr)
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
