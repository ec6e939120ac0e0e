"""A throwaway PostgreSQL cluster on 127.0.0.1, from Debian's postgresql packages (.ci/run installs them).

initdb refuses to run as root, so as root (CI) the cluster runs as the `postgres` system user. Used by
the tests (tests/audit/conftest.py) and by benchmarks/audit_sinks.py."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PgCluster", "find_pg_bin", "start_cluster"]


def find_pg_bin() -> Path:
    found = shutil.which("initdb") or shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not candidates:
        raise RuntimeError("PostgreSQL server binaries not found: .ci/run installs Debian's postgresql package")
    return Path(candidates[0]).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PgCluster:
    bin_dir: Path
    data_dir: Path
    port: int
    as_user: list[str]

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.dsn_for(name)

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate",
                        "-w", "stop"], capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def start_cluster(*, fsync: bool = True) -> PgCluster:
    bin_dir = find_pg_bin()
    root = Path(tempfile.mkdtemp(prefix="aigate-pg-"))
    data_dir = root / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True, timeout=180)
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c max_connections=50"
    if not fsync:
        options += " -c fsync=off -c synchronous_commit=off"
    subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-o", options, "-l",
                    str(root / "server.log"), "-w", "-t", "120", "start"], check=True, capture_output=True, timeout=180)
    cluster = PgCluster(bin_dir, data_dir, port, as_user)
    deadline = time.monotonic() + 60
    while True:
        try:
            import psycopg

            psycopg.connect(cluster.dsn, connect_timeout=5).close()
            return cluster
        except Exception:
            if time.monotonic() > deadline:
                cluster.stop()
                raise
            time.sleep(0.2)
