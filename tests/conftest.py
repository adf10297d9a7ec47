"""Shared pytest fixtures."""

from tests.fakes.github_fixture import fake_github  # noqa: F401
from tests.fakes.warehouse_fixture import fake_clock, fake_warehouse  # noqa: F401
from tests.servers import *  # noqa: F403
