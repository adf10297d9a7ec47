"""The ``fake_warehouse`` pytest fixture: a fresh FakeWarehouse per test on a FakeClock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.clock import FakeClock
from tests.fakes.warehouse import FakeWarehouse


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_warehouse(fake_clock: FakeClock) -> Iterator[FakeWarehouse]:
    """A started fake pypi.org whose time is ``fake_clock`` (move it with ``advance``)."""
    with FakeWarehouse(clock=fake_clock.time) as fake:
        yield fake
        assert not fake.server_errors, fake.server_errors[0]
