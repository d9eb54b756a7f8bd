"""Fixtures for fault, concurrency, hostile-input and scale-out tests.

Every server here is real: the session's embedded Redis, a private one with an
append-only file for crash tests, a fault proxy in front of either, or a
3-master cluster started from the same binary.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from langmem_ext.server import EmbeddedRedis
from tests.reliability._cluster import LocalCluster
from tests.reliability._proxy import FaultProxy


def _port(url: str) -> int:
    port = urlparse(url).port
    assert port is not None, url
    return port


@pytest.fixture
def proxy(redis_url: str) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session's Redis (emptied after the test)."""
    with FaultProxy(_port(redis_url)) as fault_proxy:
        yield fault_proxy


@pytest.fixture
def aof_server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A private Redis with an AOF fsynced on every write, for kill -9 tests."""
    server = EmbeddedRedis(data_dir=tmp_path / "aof", appendfsync="always")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """A 3-master Redis Cluster on loopback ports 17000-17999, shared by a module."""
    with LocalCluster(masters=3, modules=("json", "search")) as local_cluster:
        yield local_cluster
