"""Shared fixtures. Tests that read the real fall data skip, with the reason, when it is absent, and
fail instead under CI (`$CI` set), so a CI run without the data cannot go green on skipped tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import shared_data_dir
from tests.webhooks import Receiver, running_receiver


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (or $FALLWATCH_DATA); skips the test when it is not there (fails under CI)."""
    return shared_data_dir()


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, int]]:
    """A webhook Receiver running on 127.0.0.1 (its port is the second item)."""
    with running_receiver() as running:
        yield running
