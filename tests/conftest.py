"""Shared pytest fixtures."""

from pathlib import Path

import pytest
from urllib3.util.retry import Retry

from tests.fakes.github_fixture import fake_github  # noqa: F401
from tests.fakes.warehouse_fixture import fake_clock, fake_warehouse  # noqa: F401
from tests.servers import *  # noqa: F403


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What unrelease keeps between runs (the last TOTP step used) stays inside the test."""
    monkeypatch.setenv("UNRELEASE_CACHE_DIR", str(tmp_path / "unrelease-cache"))


@pytest.fixture(autouse=True)
def _no_retry_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries still happen (and are counted), without urllib3's backoff sleeps between them:
    0.2 + 0.4 + 0.8 s of wall time in every test that reads an unreachable or failing URL."""
    monkeypatch.setattr(Retry, "get_backoff_time", lambda self: 0.0)
