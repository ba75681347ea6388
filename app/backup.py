"""Backups (Art. 24 定期备份) and restores (Art. 27 灾难恢复): `python -m app.cli backup | restore`.

A backup is one uncompressed tar file, ``govflow-backup-<YYYYmmddTHHMMSS>Z.tar``, written as ``.part``
and renamed when complete, holding in this order:

- the database: ``database.sqlite3`` (SQLite's online backup API: a consistent copy while the service
  runs) or ``database.pgdump`` (``pg_dump --format=custom``: one consistent snapshot);
- ``attachments/…``: the attachment files, as they are on disk (plaintext ones content-addressed,
  encrypted ones under a random name of their own, ``enc/…``: either way a file is never rewritten, so
  the folder read after the database holds every file the copied rows name). Encrypted files are copied
  encrypted; their data keys are in the database, sealed by master keys that are NOT in the archive (they
  are in settings, GOVFLOW_MASTER_KEYS): the manifest names the master key ids a restore needs;
- ``audit-head.jsonl``: the exported audit chain heads, when the file exists;
- ``manifest.json``: what the archive holds (format, time, version, database kind and schema revision,
  the audit chain head, attachment count and bytes) and the sha256 and size of every other member.

A restore checks every member against the manifest before it changes anything, refuses a kind
mismatch and a non-empty target database unless told ``--yes``, then restores the database, the
attachments and the audit head file. PostgreSQL connection details reach pg_dump/pg_restore through PG*
environment variables, never on their command line.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from app.cli import CommandError

FORMAT = "govflow-backup"
VERSION = 1
MANIFEST = "manifest.json"
DB_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
ATTACHMENTS = "attachments"
AUDIT_HEAD = "audit-head.jsonl"
KIND_ZH = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
_CHUNK = 1024 * 1024
# Connection details in the URL's query that libpq reads from these variables.
_PG_QUERY_ENV = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
                 "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT", "host": "PGHOST",
                 "port": "PGPORT", "application_name": "PGAPPNAME", "target_session_attrs": "PGTARGETSESSIONATTRS"}
_PG_TIMEOUT_SECONDS = 10


def kind_of(url: str) -> str:
    """Return "sqlite" or "postgresql" for a database URL, or refuse another kind."""
    try:
        backend = make_url(url).get_backend_name()
    except Exception:  # sqlalchemy.exc.ArgumentError and friends: not a URL at all
        raise CommandError(f"数据库地址无效：{url!r}") from None
    if backend not in DB_MEMBER:
        raise CommandError(f"不支持的数据库类型“{backend}”：只支持 SQLite 和 PostgreSQL")
    return backend


def shown(url: str) -> str:
    """The URL as it may be printed: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def pg_env(url: str) -> dict[str, str]:
    """The environment for pg_dump/pg_restore: this process's, with the URL's connection details as PG*."""
    u = make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, value in (("PGHOST", u.host), ("PGPORT", u.port), ("PGUSER", u.username),
                       ("PGPASSWORD", u.password), ("PGDATABASE", u.database)):
        if value is not None:
            env[key] = str(value)
    for key, value in u.query.items():
        if key in _PG_QUERY_ENV:
            env[_PG_QUERY_ENV[key]] = value if isinstance(value, str) else value[-1]
    env.setdefault("PGCONNECT_TIMEOUT", str(_PG_TIMEOUT_SECONDS))
    return env


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise CommandError(f"SQLite 数据库地址应指向一个文件：{url}")
    return Path(database)


def _engine(url: str):  # type: ignore[no-untyped-def]
    connect_args = {"connect_timeout": _PG_TIMEOUT_SECONDS} if kind_of(url) == "postgresql" else {}
    return create_engine(url, poolclass=NullPool, connect_args=connect_args)


def _connect_target(url: str):  # type: ignore[no-untyped-def]
    """Open a connection to a restore target, naming the target (not the configured database) on failure."""
    engine = _engine(url)
    try:
        return engine, engine.connect()
    except DBAPIError as exc:
        engine.dispose()
        orig = exc.orig
        reason = str(orig).strip().splitlines()[0] if orig is not None else type(exc).__name__
        if getattr(orig, "sqlstate", None) == "3D000" or ('database "' in reason and "does not exist" in reason):
            name = make_url(url).database
            raise CommandError(f"目标数据库“{name}”不存在：请先创建它（如 `createdb -O <用户> {name}`），"
                               f"恢复命令不会自行建库") from None
        err = CommandError(f"无法连接目标数据库 {shown(url)}：{reason}。请检查地址以及数据库是否已启动。")
        err.code = 3
        raise err from None


@dataclass
class DatabaseState:
    revision: str | None
    audit: dict[str, Any] | None
    server_version: str | None
    tables: int


def _state(conn: Connection) -> DatabaseState:
    """Read what a manifest records about a database (nothing is written)."""
    names = inspect(conn).get_table_names()
    revision = None
    if "alembic_version" in names:
        revision = ",".join(sorted(r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))))
    audit = None
    if "audit_head" in names:
        row = conn.execute(text("SELECT seq, last_hash, chain_id FROM audit_head WHERE id = 1")).first()
        if row is not None:
            audit = {"seq": int(row[0]), "hash": str(row[1]), "chain": str(row[2])}
    info = conn.dialect.server_version_info
    server = ".".join(map(str, info)) if info else None
    if conn.dialect.name == "sqlite":
        server = sqlite3.sqlite_version
    return DatabaseState(revision, audit, server, len(names))


def _sealed_keys(conn: Connection) -> dict[str, Any]:
    """Count the encrypted attachments and name the master keys their data keys are sealed under (the keys
    themselves are in settings, never in a backup)."""
    if "attachment" not in inspect(conn).get_table_names() or "wrapped_key" not in {
            c["name"] for c in inspect(conn).get_columns("attachment")}:
        return {"encrypted_attachments": 0, "master_key_ids": []}
    # A sealed key is "v1:<master key id>:<cipher>:<base64>": group by the id, in the database.
    kid = ("split_part(wrapped_key, ':', 2)" if conn.dialect.name == "postgresql"
           else "substr(wrapped_key, 4, instr(substr(wrapped_key, 4), ':') - 1)")
    counts = dict(conn.execute(text(f"SELECT {kid}, count(*) FROM attachment WHERE wrapped_key IS NOT NULL "
                                    f"GROUP BY {kid}")).all())
    count, ids = sum(counts.values()), {str(k) for k in counts}
    return {"encrypted_attachments": count, "master_key_ids": sorted(ids)}


def _pg_tables(conn: Connection) -> int:
    """Count the relations a PostgreSQL database holds outside the system schemas."""
    return int(conn.execute(text(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname <> 'information_schema' "
        "AND n.nspname NOT LIKE 'pg\\_%'")).scalar_one())


class _Hashing(io.RawIOBase):
    """Read a file while hashing what passes (tarfile streams members from it)."""

    def __init__(self, raw: Any) -> None:
        self.raw, self.sha, self.size = raw, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data


@dataclass
class _Writer:
    tar: tarfile.TarFile
    members: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_file(self, name: str, path: Path) -> int:
        with path.open("rb") as raw:
            stat = os.fstat(raw.fileno())
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o640
            reader = _Hashing(raw)
            self.tar.addfile(info, reader)
        self.members[name] = {"sha256": reader.sha.hexdigest(), "size": reader.size}
        return reader.size

    def add_bytes(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), int(datetime.now(timezone.utc).timestamp()), 0o640
        self.tar.addfile(info, io.BytesIO(data))


def _govflow_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("govflow")
    except PackageNotFoundError:
        return "unknown"


def _archive_name(out_dir: Path, now: datetime) -> Path:
    stem = f"govflow-backup-{now.strftime('%Y%m%dT%H%M%S')}Z"
    path, n = out_dir / f"{stem}.tar", 1
    while path.exists() or path.with_name(path.name + ".part").exists():
        n += 1
        path = out_dir / f"{stem}-{n}.tar"
    return path


def _writable_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"无法创建备份目录“{out_dir}”：{exc.strerror or exc}") from None
    if not out_dir.is_dir():
        raise CommandError(f"“{out_dir}”不是目录")
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise CommandError(f"备份目录“{out_dir}”不可写：请检查其权限，或用 --out 指定另一个目录")


def _dump_sqlite(url: str, target: Path) -> None:
    source = _sqlite_path(url)
    if not source.is_file():
        raise CommandError(f"SQLite 数据库文件“{source}”不存在")
    src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # page by page, consistent even while the service writes
            if dst.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise CommandError("数据库副本自检失败（PRAGMA quick_check），源数据库可能已损坏")
        finally:
            dst.close()
    finally:
        src.close()


def _pg_tool(name: str, server_version: str | None) -> str:
    path = shutil.which(name)
    if path is None:
        major = f" {server_version.split('.')[0]}" if server_version else ""
        raise CommandError(f"找不到 {name}：请安装 PostgreSQL 客户端（如 Debian/Ubuntu 的 postgresql-client{major}，"
                           f"主版本须与数据库服务器{major or ''}一致或更高）")
    return path


def _tool_failed(name: str, stderr: str, server_version: str | None) -> CommandError:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    detail = "；".join(lines[:3]) or "没有输出"
    if "version mismatch" in stderr or "unsupported version" in stderr:
        major = server_version.split(".")[0] if server_version else "服务器"
        return CommandError(f"{name} 与数据库版本不匹配（{detail}）：请安装主版本为 {major} 的 PostgreSQL 客户端"
                            f"（postgresql-client-{major}）")
    return CommandError(f"{name} 失败：{detail}")


def _dump_postgresql(url: str, target: Path, server_version: str | None) -> None:
    tool = _pg_tool("pg_dump", server_version)
    result = subprocess.run([tool, "--format=custom", "--no-owner", f"--file={target}"],
                            env=pg_env(url), capture_output=True, text=True)
    if result.returncode != 0:
        raise _tool_failed("pg_dump", result.stderr, server_version)


def _attachment_files(root: Path) -> list[tuple[str, Path]]:
    """The attachment files under root, as (member name, path), skipping uploads still being written."""
    found: list[tuple[str, Path]] = []
    if not root.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.startswith(".upload-"):
                continue
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                found.append((f"{ATTACHMENTS}/{path.relative_to(root).as_posix()}", path))
    return found


def backup(settings: Any, out_dir: Path | None = None, *, now: datetime | None = None) -> tuple[Path, dict[str, Any]]:
    """Write one backup archive of the configured database, attachments and audit head file.

    Return its path and manifest.
    """
    url = settings.database_url
    kind = kind_of(url)
    out_dir = Path(out_dir or settings.backup_dir)
    if kind == "sqlite" and not _sqlite_path(url).is_file():  # connecting would create an empty one
        raise CommandError(f"SQLite 数据库文件“{_sqlite_path(url)}”不存在：请检查 GOVFLOW_DATABASE_URL")
    engine = _engine(url)
    try:
        with engine.connect() as conn:  # unreachable: OperationalError, told by app.cli.guarded
            state = _state(conn)
            sealed = _sealed_keys(conn)
            conn.rollback()
    finally:
        engine.dispose()
    if state.revision is None:
        raise CommandError(f"数据库 {shown(url)} 尚未迁移（没有 alembic_version 表），没有可备份的 GovFlow 数据")
    _writable_dir(out_dir)
    now = now or datetime.now(timezone.utc)
    final = _archive_name(out_dir, now)
    part = final.with_name(final.name + ".part")
    try:
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".govflow-backup-") as tmp:
            dump = Path(tmp) / DB_MEMBER[kind]
            if kind == "sqlite":
                _dump_sqlite(url, dump)
            else:
                _dump_postgresql(url, dump, state.server_version)
            # Readable by the owner only: the archive holds every record and the password hashes.
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                writer = _Writer(tar)
                writer.add_file(DB_MEMBER[kind], dump)
                dump.unlink()
                count = size = 0
                for name, path in _attachment_files(Path(settings.attachments_dir)):
                    try:
                        size += writer.add_file(name, path)
                        count += 1
                    except FileNotFoundError:  # removed since it was listed
                        continue
                head_file = Path(settings.audit_head_export_path)
                if head_file.is_file():
                    writer.add_file(AUDIT_HEAD, head_file)
                manifest = {
                    "format": FORMAT, "version": VERSION,
                    "created_at": now.isoformat(timespec="seconds"),
                    "govflow_version": _govflow_version(),
                    "database": {"kind": kind, "member": DB_MEMBER[kind], "alembic_revision": state.revision,
                                 "server_version": state.server_version},
                    "audit_head": state.audit,
                    "audit_head_export": head_file.is_file(),
                    "attachments": {"count": count, "bytes": size},
                    "encryption": sealed,
                    "members": writer.members,
                }
                writer.add_bytes(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
        with part.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(part, final)
        _fsync_dir(out_dir)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise CommandError(f"写入备份失败（{out_dir}）：{exc.strerror or exc}") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return final, manifest


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------------------------ restore

def _safe_member(name: str) -> bool:
    p = PurePosixPath(name)
    return not p.is_absolute() and ".." not in p.parts and name == p.as_posix() and bool(p.parts)


def verify_archive(path: Path) -> tuple[tarfile.TarFile, dict[str, Any]]:
    """Open an archive and check every member against its manifest; refuse anything else, changing nothing."""
    if not path.exists():
        raise CommandError(f"找不到备份文件“{path}”")
    if not path.is_file():
        raise CommandError(f"“{path}”不是文件")
    broken = f"备份文件“{path}”已损坏或不完整"
    try:
        tar = tarfile.open(path, "r:")
    except (tarfile.TarError, EOFError):
        raise CommandError(f"{broken}：不是可读的 tar 归档") from None
    except PermissionError:
        raise CommandError(f"没有读取备份文件“{path}”的权限") from None
    try:
        try:
            members = tar.getmembers()
            info = next((m for m in members if m.name == MANIFEST), None)
            if info is None or not info.isfile():
                raise CommandError(f"{broken}：缺少 {MANIFEST}")
            manifest = json.loads(tar.extractfile(info).read())  # type: ignore[union-attr]
        except (tarfile.TarError, EOFError, OSError):
            raise CommandError(f"{broken}：归档无法完整读取") from None
        except ValueError:
            raise CommandError(f"{broken}：{MANIFEST} 不是有效的 JSON") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise CommandError(f"“{path}”不是 GovFlow 备份（{MANIFEST} 格式不符）")
        if not isinstance(manifest.get("version"), int) or manifest["version"] > VERSION:
            raise CommandError(f"备份格式版本 {manifest.get('version')} 比本程序支持的 {VERSION} 新：请用更新的 GovFlow 恢复")
        listed = manifest.get("members")
        database = manifest.get("database")
        if not isinstance(listed, dict) or not isinstance(database, dict) or database.get("kind") not in DB_MEMBER:
            raise CommandError(f"{broken}：{MANIFEST} 内容不完整")
        seen: set[str] = set()
        for m in members:
            if m.name == MANIFEST:
                continue
            if not m.isfile() or not _safe_member(m.name) or m.name in seen:
                raise CommandError(f"{broken}：含有不应有的条目“{m.name}”")
            if m.name not in listed:
                raise CommandError(f"{broken}：条目“{m.name}”不在清单中")
            seen.add(m.name)
            digest, size = hashlib.sha256(), 0
            try:
                stream = tar.extractfile(m)
                while chunk := stream.read(_CHUNK):  # type: ignore[union-attr]
                    digest.update(chunk)
                    size += len(chunk)
            except (tarfile.TarError, EOFError, OSError):
                raise CommandError(f"{broken}：条目“{m.name}”无法完整读取") from None
            expected = listed[m.name]
            if not isinstance(expected, dict) or digest.hexdigest() != expected.get("sha256") \
                    or size != expected.get("size"):
                raise CommandError(f"{broken}：条目“{m.name}”的校验值与清单不符")
        missing = sorted(set(listed) - seen)
        if missing:
            more = f" 等 {len(missing)} 项" if len(missing) > 1 else ""
            raise CommandError(f"{broken}：缺少清单中的条目“{missing[0]}”{more}")
        if DB_MEMBER[database["kind"]] not in seen:
            raise CommandError(f"{broken}：缺少数据库文件 {DB_MEMBER[database['kind']]}")
    except BaseException:
        tar.close()
        raise
    return tar, manifest


@dataclass
class Restored:
    manifest: dict[str, Any]
    url: str
    state: DatabaseState
    attachments: int
    attachments_dir: Path
    head_file: Path
    head_lines_added: int
    head_file_existed: bool
    latest_exported_seq: int | None
    schema: str = "current"  # "current" | "older" (run migrate) | "unknown" (a newer GovFlow wrote it)


def _restore_sqlite(tar: tarfile.TarFile, member: str, url: str, yes: bool) -> None:
    target = _sqlite_path(url)
    if target.exists():
        if target.is_dir():
            raise CommandError(f"“{target}”是目录，请给出数据库文件的路径")
        if _sqlite_tables(target) and not yes:
            raise CommandError(f"目标数据库 {target} 不是空的：确认要用备份覆盖它，请加 --yes（先停止使用它的服务）")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".govflow-restore-") as tmp:
            copy = Path(tmp) / "database.sqlite3"
            with tar.extractfile(member) as src, copy.open("wb") as out:  # type: ignore[union-attr]
                shutil.copyfileobj(src, out, _CHUNK)
            source = sqlite3.connect(copy)
            try:
                dest = sqlite3.connect(target, timeout=30)
                try:
                    source.backup(dest)  # replaces the whole target in one transaction
                finally:
                    dest.close()
            finally:
                source.close()
    except sqlite3.Error as exc:
        raise CommandError(f"写入目标数据库 {target} 失败：{exc}") from None
    except OSError as exc:
        raise CommandError(f"写入目标数据库 {target} 失败：{exc.strerror or exc}") from None


def _sqlite_tables(path: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return int(conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise CommandError(f"目标文件 {path} 不是可读的 SQLite 数据库（{exc}）：请给出另一个路径") from None


def _restore_postgresql(tar: tarfile.TarFile, member: str, url: str, yes: bool) -> None:
    engine, conn = _connect_target(url)
    try:
        tables = _pg_tables(conn)
        server_version = _state(conn).server_version
        conn.rollback()
    finally:
        conn.close()
        engine.dispose()
    if tables and not yes:
        raise CommandError(f"目标数据库 {shown(url)} 不是空的（{tables} 个表或序列）：确认要用备份覆盖它，请加 --yes"
                           f"（先停止使用它的服务）")
    tool, psql = _pg_tool("pg_restore", server_version), _pg_tool("psql", server_version)
    with tempfile.TemporaryDirectory(prefix="govflow-restore-") as tmp:
        dump, script, prelude = Path(tmp) / "database.pgdump", Path(tmp) / "restore.sql", Path(tmp) / "prelude.sql"
        with tar.extractfile(member) as src, dump.open("wb") as out:  # type: ignore[union-attr]
            shutil.copyfileobj(src, out, _CHUNK)
        result = subprocess.run([tool, "--no-owner", f"--file={script}", str(dump)],
                                env=pg_env(url), capture_output=True, text=True)
        if result.returncode != 0:
            raise _tool_failed("pg_restore", result.stderr, server_version)
        # The schema is replaced whole rather than with pg_restore --clean, which drops object by object and
        # fails on a partitioned table (usage_event): it tries to drop each partition's inherited key.
        prelude.write_text("DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n", encoding="utf-8")
        database = make_url(url).database or ""
        # One transaction: on any error the target is left as it was.
        result = subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                                 f"--dbname={database}", "-f", str(prelude), "-f", str(script)],
                                env=pg_env(url), capture_output=True, text=True)
    if result.returncode != 0:
        raise _tool_failed("psql", result.stderr, server_version)


def _restore_attachments(tar: tarfile.TarFile, manifest: dict[str, Any], root: Path) -> int:
    count = 0
    prefix = ATTACHMENTS + "/"
    for name in sorted(manifest["members"]):
        if not name.startswith(prefix):
            continue
        relative = PurePosixPath(name[len(prefix):])
        target = root.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".restore-")
        try:
            with os.fdopen(fd, "wb") as out, tar.extractfile(name) as src:  # type: ignore[union-attr]
                shutil.copyfileobj(src, out, _CHUNK)
            os.replace(tmp, target)  # never rewritten: the same name always holds the same bytes
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        count += 1
    return count


def _restore_head_file(tar: tarfile.TarFile, manifest: dict[str, Any], path: Path) -> tuple[int, bool]:
    """Give path the archive's exported heads; lines already there are kept (never rewrite a witness)."""
    existed = path.exists()
    if AUDIT_HEAD not in manifest["members"]:
        return 0, existed
    with tar.extractfile(AUDIT_HEAD) as src:  # type: ignore[union-attr]
        lines = src.read().decode("utf-8", errors="replace").splitlines(keepends=True)
    have = set(path.read_text("utf-8", errors="replace").splitlines()) if existed else set()
    new = [line if line.endswith("\n") else line + "\n" for line in lines if line.strip() and line.rstrip("\n") not in have]
    if new:
        from app.audit.export import append_line

        append_line(path, "".join(new))
    return len(new), existed


def _latest_exported_seq(settings: Any, path: Path, chain: str | None) -> int | None:
    from app.audit.export import latest_head
    from app.audit.service import ChainKey

    if chain is None or not path.is_file():
        return None
    found = latest_head(path, ChainKey.from_settings(settings), chain)
    return found.head.seq if found.head is not None else None


def restore(settings: Any, archive: Path, *, database_url: str | None = None, attachments_dir: Path | None = None,
            audit_head_file: Path | None = None, yes: bool = False) -> Restored:
    """Restore an archive into a database (default: the configured one), attachments folder and head file."""
    url = database_url or settings.database_url
    target_kind = kind_of(url)
    tar, manifest = verify_archive(archive)
    with tar:
        kind = manifest["database"]["kind"]
        if kind != target_kind:
            raise CommandError(f"备份中是 {KIND_ZH[kind]} 数据库，目标 {shown(url)} 是 {KIND_ZH[target_kind]}："
                               f"不能跨类型恢复（请给出 {KIND_ZH[kind]} 的 --database-url）")
        member = DB_MEMBER[kind]
        if kind == "sqlite":
            _restore_sqlite(tar, member, url, yes)
        else:
            _restore_postgresql(tar, member, url, yes)
        root = Path(attachments_dir or settings.attachments_dir)
        head_path = Path(audit_head_file or settings.audit_head_export_path)
        try:
            count = _restore_attachments(tar, manifest, root)
            added, existed = _restore_head_file(tar, manifest, head_path)
        except OSError as exc:
            raise CommandError(f"数据库已恢复，但写入附件或审计链头文件失败：{exc.strerror or exc}"
                               f"（{getattr(exc, 'filename', '') or root}）；修正后可再次运行（加 --yes）") from None
    engine, conn = _connect_target(url)
    try:
        state = _state(conn)
        conn.rollback()
    finally:
        conn.close()
        engine.dispose()
    chain = state.audit["chain"] if state.audit else None
    return Restored(manifest, url, state, count, root, head_path, added, existed,
                    _latest_exported_seq(settings, head_path, chain), _schema(state.revision))


def _schema(revision: str | None) -> str:
    """Compare a restored database's schema revision with this program's migrations."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from app.core.config import ROOT

    scripts = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))
    have = set((revision or "").split(",")) - {""}
    if have == set(scripts.get_heads()):
        return "current"
    known = {rev.revision for rev in scripts.walk_revisions()}
    return "older" if have and have <= known else "unknown"


def summary_zh(r: Restored, archive: Path) -> list[str]:
    """Tell an operator what was restored and what to do next, in Chinese."""
    m = r.manifest
    lines = [f"已从 {archive} 恢复（备份于 {m.get('created_at')}，GovFlow {m.get('govflow_version')}）：",
             f"- 数据库：{shown(r.url)}（{KIND_ZH[m['database']['kind']]}，结构版本 {r.state.revision or '未知'}）",
             f"- 附件：{r.attachments} 个文件 → {r.attachments_dir}"]
    sealed = m.get("encryption") or {}
    if sealed.get("encrypted_attachments"):
        lines.append(f"- 其中加密保存的附件 {sealed['encrypted_attachments']} 个：主密钥不在备份中，恢复后的服务须配置主密钥 "
                     f"{'、'.join(sealed.get('master_key_ids') or [])}（GOVFLOW_MASTER_KEYS），否则无法下载这些附件")
    if r.head_lines_added:
        how = "补入" if r.head_file_existed else "写入"
        lines.append(f"- 审计链头导出文件：{how} {r.head_lines_added} 行 → {r.head_file}")
    elif m.get("audit_head_export"):
        lines.append(f"- 审计链头导出文件：{r.head_file} 已含备份中的全部记录，未改动")
    else:
        lines.append("- 备份中没有审计链头导出文件")
    expected, got = m.get("audit_head"), r.state.audit
    if got is not None:
        lines.append(f"- 审计链：链头为第 {got['seq']} 条"
                     + ("，与备份清单一致" if expected and expected.get("seq") == got["seq"]
                        and expected.get("hash") == got["hash"] else "，与备份清单不一致，请核查"))
        if r.latest_exported_seq is not None and r.latest_exported_seq > got["seq"]:
            lines.append(f"  注意：导出文件中最新的链头是第 {r.latest_exported_seq} 条，晚于恢复后的链头："
                         f"备份之后写入的 {r.latest_exported_seq - got['seq']} 条审计事件不在本备份中，"
                         "verify-audit 将如实报告链尾缺失。")
    env = "" if r.url == os.environ.get("GOVFLOW_DATABASE_URL") else "（GOVFLOW_DATABASE_URL 指向恢复后的数据库）"
    lines.append(f"下一步：运行 `.venv/bin/govflow verify-audit --head-file {r.head_file}`{env}核对审计链。")
    if r.schema == "older":
        lines.append("数据库结构版本比本程序旧：核对审计链后运行 `.venv/bin/govflow migrate` 再启动服务。")
    elif r.schema == "unknown":
        lines.append(f"数据库结构版本 {r.state.revision} 不是本程序所知的版本：备份来自更新的 GovFlow"
                     f"（{m.get('govflow_version')}），请安装该版本后再启动服务。")
    return lines
