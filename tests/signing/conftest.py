"""The signature tests run with signing on and the SM suite unless a module sets SIGNING (its settings)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.runtime import Runtime
from tests.signing.helpers import SM_SIGNING, runtime


@pytest.fixture
def rt(db_url: str, frozen_clock: object, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Runtime]:
    built = runtime(db_url, tmp_path, **getattr(request.module, "SIGNING", SM_SIGNING))
    yield built
    built.db.dispose()
