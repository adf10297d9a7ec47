"""Shared pytest fixtures."""

from tests.fakes.github_fixture import fake_github  # noqa: F401
from tests.servers import *  # noqa: F403
