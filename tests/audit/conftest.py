"""Fixtures of the audit tests: a config per test folder, and a real PostgreSQL cluster per session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from audit.pg_cluster import PgCluster, start_cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    cluster = start_cluster(fsync=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_dsn(pg_cluster: PgCluster) -> str:
    """A fresh, empty database for one test."""
    return pg_cluster.create_database(f"audit_{uuid.uuid4().hex[:12]}")
