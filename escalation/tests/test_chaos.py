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

import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from escalation.tests.processes import ROOT, Cluster, cluster_for, percentile, scratch_database
from escalation.tests.processes import query as db_query

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

ALERTS = 200
STEPS = 3
RECIPIENTS_PER_RUN = 2 + 1 + 2  # on duty, the team admin, on duty again
COMPLETION_TIMEOUT_SECONDS = 120


@pytest.fixture
def scratch_db() -> Iterator[str]:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("the chaos test needs PostgreSQL (DATABASE_URL)")
    with scratch_database(settings.DATABASES["default"], "ag_chaos") as name:
        yield name


@pytest.fixture
def cluster(scratch_db: str, tmp_path: Path) -> Iterator[Cluster]:
    if shutil.which("redis-server") is None:
        pytest.fail("the chaos test starts its own redis-server; install redis-server")
    env = {"ESCALATION_SWEEP_INTERVAL_SECONDS": "1", "ESCALATION_DEFAULT_CHANNELS": "in_app"}
    with cluster_for(settings.DATABASES["default"], scratch_db, tmp_path, **env) as chaos:
        yield chaos


def query(dbname: str, sql: str) -> list[tuple[Any, ...]]:
    return db_query(settings.DATABASES["default"], dbname, sql)


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
