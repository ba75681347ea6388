"""Management commands: a mistake an operator makes gets one clear Chinese line and a non-zero exit, no traceback."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.core.config import get_settings
from app.scheduler.__main__ import main as scheduler_main
from tests.conftest import SECRET


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("GOVFLOW_SECRET_KEY", SECRET)
    monkeypatch.setenv("GOVFLOW_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.fixture
def migrated(env: pytest.MonkeyPatch, db_url: str) -> str:
    env.setenv("GOVFLOW_DATABASE_URL", db_url)
    return db_url


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return captured.err


def test_load_calendar_names_a_missing_file(migrated, capsys, tmp_path: Path) -> None:
    assert main(["load-calendar", str(tmp_path / "missing.json")]) == 2
    assert "找不到文件" in _err(capsys)
    assert main(["load-calendar", str(tmp_path)]) == 2
    assert "是目录" in _err(capsys)


@pytest.mark.parametrize("content, message", [
    (b"{not json", "不是有效的 JSON"),
    (b"[1, 2]", "应为 JSON 对象"),
    (b'{"year": 2027, "days": [1]}', "应为对象"),
    (b"\xff\xfe", "UTF-8"),
])
def test_load_calendar_explains_a_bad_file(migrated, capsys, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "2027.json"
    path.write_bytes(content)
    assert main(["load-calendar", str(path)]) == 2
    assert message in _err(capsys)


def test_commands_on_an_unmigrated_database_say_to_migrate(env, capsys, tmp_path: Path) -> None:
    env.setenv("GOVFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    (tmp_path / "2027.json").write_text('{"year": 2027, "days": []}')
    for argv in (["verify-audit"], ["seed-demo"], ["load-calendar", str(tmp_path / "2027.json")]):
        assert main(argv) == 2, argv
        assert "请先运行 `python -m app.cli migrate`" in _err(capsys)
    assert scheduler_main(["--once", "escalate-overdue"]) == 2
    assert "请先运行 `python -m app.cli migrate`" in _err(capsys)


def test_an_unreachable_database_is_named_without_its_password(env, capsys) -> None:
    env.setenv("GOVFLOW_DATABASE_URL", "postgresql+psycopg://govflow:s3cret@127.0.0.1:1/govflow")
    for argv in (["migrate"], ["verify-audit"], ["backup"]):
        assert main(argv) == 3, argv
        err = _err(capsys)
        assert "无法连接数据库" in err and "127.0.0.1:1" in err and "s3cret" not in err


def test_invalid_settings_are_explained(env, capsys) -> None:
    env.setenv("GOVFLOW_ENVIRONMENT", "production")
    env.setenv("GOVFLOW_SECRET_KEY", "short")
    assert main(["verify-audit"]) == 2
    assert "配置无效" in _err(capsys)
    assert scheduler_main([]) == 2
    assert "配置无效" in _err(capsys)
