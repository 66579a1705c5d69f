"""Chaos: real PostgreSQL, a private Redis, two real Celery workers and beat, killed and restarted.

~200 alerts escalate through a 3-step policy with 1-2 s acknowledge windows while a random
worker is SIGKILLed and restarted several times, beat once, and Redis once (losing every
queued message). Afterwards every run must have performed exactly its three steps, once
each, with exactly one sent notification per (run, step, recipient, channel) — none lost,
none doubled. Lateness (execution - due time) is printed.

The scratch database and the Redis server belong to this test alone (the shared Redis on
6379 is never touched); every process it starts is killed in ``finally``.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ALERTS = 200
STEPS = 3
RECIPIENTS_PER_RUN = 2 + 1 + 2  # on duty, the team admin, on duty again
COMPLETION_TIMEOUT_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_dsn(dbname: str) -> str:
    db = settings.DATABASES["default"]
    return f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} dbname={dbname}" + (
        f" password={db['PASSWORD']}" if db.get("PASSWORD") else ""
    )


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


@pytest.fixture
def scratch_db() -> Iterator[str]:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("the chaos test needs PostgreSQL (DATABASE_URL)")
    name = f"ag_chaos_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(server_dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def cluster(scratch_db: str, tmp_path: Path) -> Iterator[Cluster]:
    if shutil.which("redis-server") is None:
        pytest.fail("the chaos test starts its own redis-server; install redis-server")
    db = settings.DATABASES["default"]
    port = free_port()
    auth = f"{db['USER']}:{db['PASSWORD']}@" if db.get("PASSWORD") else f"{db['USER']}@"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{scratch_db}",
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "DEBUG": "1",
        "ESCALATION_SWEEP_INTERVAL_SECONDS": "1",
        "ESCALATION_DEFAULT_CHANNELS": "in_app",
        "FAST_PASSWORD_HASHER": "1",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    chaos = Cluster(env=env, redis_port=port, logs=logs)
    try:
        chaos.start_redis()
        yield chaos
    finally:
        chaos.stop_all()


def query(dbname: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(server_dsn(dbname)) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def test_escalation_survives_killed_workers_beat_and_a_redis_restart(cluster: Cluster, scratch_db: str) -> None:
    cluster.run("manage.py", "migrate", "--noinput", "-v", "0")
    cluster.run("-m", "escalation.tests.chaos_driver", "seed", "2", "2", "1")
    for name in ("worker1", "worker2"):
        cluster.start_worker(name)
    cluster.start_beat()
    time.sleep(3)

    raiser = subprocess.Popen(
        [sys.executable, "-m", "escalation.tests.chaos_driver", "raise", str(ALERTS), "6"], cwd=ROOT, env=cluster.env
    )
    rng = random.Random(2026)
    chaos_plan = [
        (1.5, "worker"), (3.0, "beat"), (4.5, "worker"), (6.5, "redis"), (8.5, "worker"), (10.5, "worker"),
    ]  # fmt: skip
    started = time.monotonic()
    for at, target in chaos_plan:
        time.sleep(max(0.0, at - (time.monotonic() - started)))
        if target == "worker":
            victim = rng.choice(["worker1", "worker2"])
            cluster.kill(victim)
            time.sleep(0.5)
            cluster.start_worker(victim)
        elif target == "beat":
            cluster.kill("beat")
            time.sleep(1.5)
            cluster.start_beat()
        else:
            cluster.kill("redis")  # every queued and scheduled message is gone
            time.sleep(1.0)
            cluster.start_redis()
    assert raiser.wait(timeout=120) == 0

    deadline = time.monotonic() + COMPLETION_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        (open_runs,) = query(scratch_db, "SELECT count(*) FROM escalation_escalationrun WHERE status <> 'completed'")[0]
        (runs,) = query(scratch_db, "SELECT count(*) FROM escalation_escalationrun")[0]
        if runs == ALERTS and open_runs == 0:
            break
        time.sleep(1)

    runs_by_status = dict(query(scratch_db, "SELECT status, count(*) FROM escalation_escalationrun GROUP BY status"))
    assert runs_by_status == {"completed": ALERTS}, runs_by_status
    assert query(
        scratch_db, "SELECT count(DISTINCT alert_id), min(step_seq), max(step_seq) FROM escalation_escalationrun"
    ) == [(ALERTS, STEPS, STEPS)]
    # Every step performed exactly once: one timeline entry per (run, step number), none missing.
    steps = query(
        scratch_db,
        "SELECT data->>'run_id', data->>'step_seq', count(*) FROM alerts_alertevent "
        "WHERE kind = 'escalation' AND data->>'event' = 'step' GROUP BY 1, 2",
    )
    assert len(steps) == ALERTS * STEPS and {count for *_, count in steps} == {1}
    # Exactly one sent notification per (run, step, recipient, channel); nothing pending or failed.
    notifications = query(
        scratch_db,
        "SELECT run_id, step_seq, recipient_id, channel, count(*), bool_and(status = 'sent') "
        "FROM escalation_notification GROUP BY 1, 2, 3, 4",
    )
    assert len(notifications) == ALERTS * RECIPIENTS_PER_RUN
    assert all(count == 1 and sent for *_, count, sent in notifications)

    lateness = [
        float(ms)
        for (ms,) in query(
            scratch_db,
            "SELECT (data->>'lateness_ms')::float FROM alerts_alertevent "
            "WHERE kind = 'escalation' AND data->>'event' = 'step' AND (data->>'step_seq')::int > 1",
        )
    ]
    print(
        f"\nchaos: {ALERTS} runs x {STEPS} steps; lateness of timed steps (ms): "
        f"p50 {statistics.median(lateness):.0f}, p99 {percentile(lateness, 99):.0f}, max {max(lateness):.0f}; "
        f"kills: {sum(1 for _, t in chaos_plan if t == 'worker')} workers, 1 beat, 1 redis"
    )
