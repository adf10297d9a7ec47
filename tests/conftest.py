"""Shared pytest fixtures."""

from pathlib import Path

import pytest

from tests.fakes.github_fixture import fake_github  # noqa: F401
from tests.fakes.warehouse_fixture import fake_clock, fake_warehouse  # noqa: F401
from tests.servers import *  # noqa: F403


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What unrelease keeps between runs (the last TOTP step used) stays inside the test."""
    monkeypatch.setenv("UNRELEASE_CACHE_DIR", str(tmp_path / "unrelease-cache"))
