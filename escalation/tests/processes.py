"""Real processes for the chaos test and the escalation bench: a private redis-server and
Celery workers/beat pointed at a scratch PostgreSQL database, killable and restartable."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_dsn(db: Mapping[str, Any], dbname: str) -> str:
    """A libpq DSN for ``dbname`` on the server of Django's ``db`` settings."""
    return f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} dbname={dbname}" + (
        f" password={db['PASSWORD']}" if db.get("PASSWORD") else ""
    )


def database_url(db: Mapping[str, Any], dbname: str) -> str:
    auth = f"{db['USER']}:{db['PASSWORD']}@" if db.get("PASSWORD") else f"{db['USER']}@"
    return f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{dbname}"


def query(db: Mapping[str, Any], dbname: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(server_dsn(db, dbname)) as conn:
        return conn.execute(sql).fetchall()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


@dataclass
class Cluster:
    """The processes of one chaos run, restartable by name."""

    env: dict[str, str]
    redis_port: int
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, *command: str) -> None:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 (owned by the process)
        self.procs[name] = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def start_redis(self) -> None:
        self.start(
            "redis",
            "redis-server",
            "--port",
            str(self.redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.redis_port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis did not start")

    def start_worker(self, name: str) -> None:
        self.start(
            name,
            sys.executable, "-m", "celery", "-A", "alertguardian", "worker", "-P", "threads", "-c", "4",
            "-n", f"{name}@chaos", "-l", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
        )  # fmt: skip

    def start_beat(self) -> None:
        self.start("beat", sys.executable, "-m", "celery", "-A", "alertguardian", "beat", "-l", "WARNING")

    def kill(self, name: str) -> None:
        proc = self.procs.get(name)
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name)

    def run(self, *args: str, timeout: float = 180) -> str:
        done = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
        return done.stdout


@contextmanager
def scratch_database(db: Mapping[str, Any], prefix: str) -> Iterator[str]:
    """A fresh, empty database on the server of ``db`` (dropped afterwards, even if in use)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_dsn(db, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(server_dsn(db, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def cluster_for(db: Mapping[str, Any], dbname: str, logs: Path, **env: str) -> Iterator[Cluster]:
    """A Cluster on ``dbname`` with its own redis-server already running; all killed on exit."""
    port = free_port()
    cluster = Cluster(
        env={
            **os.environ,
            "DATABASE_URL": database_url(db, dbname),
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "DEBUG": "1",
            "FAST_PASSWORD_HASHER": "1",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **env,
        },
        redis_port=port,
        logs=logs,
    )
    try:
        cluster.start_redis()
        yield cluster
    finally:
        cluster.stop_all()
