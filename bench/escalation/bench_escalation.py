"""Escalation timers at scale: N concurrently pending runs on PostgreSQL + Redis, two workers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/escalation/bench_escalation.py

1. Timers: N runs (default 10,000) whose next step falls uniformly over one minute
   (starting ``LEAD`` = 20 s after seeding), each with its Celery message scheduled with
   ``eta`` exactly as the engine schedules it. Two ``celery worker`` processes (threads, 4
   each) and beat (sweep every 5 s), already running when the runs are seeded, run them. Lateness = executed_at - due_at of each step (from the
   step's timeline entry). Target: p99 <= 1 s.
2. Sweeper only: N runs already overdue and no message at all (a broker that lost
   everything). How long until the sweeper has performed every one? Target: within 2 sweep
   intervals.

Each scenario uses a scratch database and its own redis-server (nothing shared is touched).
Each step is a real ``notify_on_duty`` step: 2 agents on duty, in-app notifications,
timeline, audit, live events, and the next wake-up one hour later.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dj_database_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from escalation.tests.processes import cluster_for, percentile, query, scratch_database  # noqa: E402

RUNS = int(os.environ.get("RUNS", "10000"))
SPREAD_SECONDS = 60
# The first step falls due this long after seeding (``LEAD=45`` gave the same lateness).
LEAD_SECONDS = int(os.environ.get("LEAD", "20"))
WORKER_BOOT_SECONDS = 8
SWEEP_INTERVAL = int(os.environ.get("SWEEP_INTERVAL", "5"))
TIMEOUT_SECONDS = int(os.environ.get("TIMEOUT", "900"))

SEED = """
import json, random, sys
from datetime import timedelta
from django.utils import timezone
from alerts.models import Alert
from escalation.models import EscalationPolicy, EscalationRun
from escalation.services.runs import new_token
from escalation.tasks import wake_runs
from accounts.models import Team

runs, lead, spread, schedule = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "1"
team = Team.objects.get(slug="chaos")
policy = EscalationPolicy.objects.get(team=team)
snapshot = policy.snapshot()
snapshot["steps"][0]["ack_window_seconds"] = 3600
now = timezone.now()
alerts = Alert.objects.bulk_create(
    Alert(team=team, type="flight_cancelled", severity="critical", title=f"bench {n}", metadata={"escalate": True})
    for n in range(runs)
)
rng = random.Random(7)
created = EscalationRun.objects.bulk_create(
    EscalationRun(
        alert=alert, policy=policy, policy_snapshot=snapshot, active_token=new_token(), started_at=now,
        next_run_at=now + timedelta(seconds=lead + rng.random() * spread),
    )
    for alert in alerts
)
if schedule:
    for run in created:
        wake_runs.apply_async(kwargs={"runs": [(run.pk, run.active_token)]}, eta=run.next_run_at)
print(json.dumps({"seeded": len(created)}))
"""


def step_stats(db: dict[str, Any], dbname: str) -> tuple[int, list[float]]:
    rows = query(
        db,
        dbname,
        "SELECT (data->>'lateness_ms')::float FROM alerts_alertevent "
        "WHERE kind = 'escalation' AND data->>'event' = 'step'",
    )
    return len(rows), [row[0] for row in rows]


def start_cluster(cluster: Any) -> None:
    for name in ("worker1", "worker2"):
        cluster.start_worker(name)
    cluster.start_beat()


def scenario(db: dict[str, Any], *, schedule: bool, lead: float, spread: float) -> dict[str, Any]:
    with (
        scratch_database(db, "ag_escalation_bench") as dbname,
        tempfile.TemporaryDirectory(prefix="escalation-bench-") as logs,
        cluster_for(
            db,
            dbname,
            Path(logs),
            ESCALATION_SWEEP_INTERVAL_SECONDS=str(SWEEP_INTERVAL),
            ESCALATION_DEFAULT_CHANNELS="in_app",
            # The production configuration: DEBUG off (no per-query bookkeeping in the workers).
            DEBUG="0",
            SECRET_KEY="escalation-bench-" + "x" * 40,
        ) as cluster,
    ):
        cluster.run("manage.py", "migrate", "--noinput", "-v", "0")
        cluster.run("-m", "escalation.tests.chaos_driver", "seed", "3600", "3600", "3600")
        if schedule:  # pending runs: the workers are up when the runs and their messages arrive
            start_cluster(cluster)
            time.sleep(WORKER_BOOT_SECONDS)
        cluster.run("manage.py", "shell", "-c", SEED.replace("sys.argv[1]", str(RUNS)).replace(
            "float(sys.argv[2])", str(lead)).replace("float(sys.argv[3])", str(spread)).replace(
            'sys.argv[4] == "1"', str(schedule)))  # fmt: skip
        started = time.monotonic()
        if not schedule:  # recovery: the workers start on a backlog with no message at all
            start_cluster(cluster)
        load_before = os.getloadavg()[0]
        done = 0
        while time.monotonic() - started < TIMEOUT_SECONDS:
            done, _ = step_stats(db, dbname)
            if done >= RUNS:
                break
            time.sleep(1)
        elapsed = time.monotonic() - started
        count, lateness = step_stats(db, dbname)
        if os.environ.get("KEEP_LOGS"):
            subprocess.run(["cp", "-r", logs, os.environ["KEEP_LOGS"]], check=False)
        duplicates = query(
            db,
            dbname,
            "SELECT count(*) FROM (SELECT data->>'run_id', data->>'step_seq' FROM alerts_alertevent "
            "WHERE kind = 'escalation' AND data->>'event' = 'step' GROUP BY 1, 2 HAVING count(*) > 1) d",
        )[0][0]
        # When the steps were performed, and lateness per 10 s of due time (is it the start-up?).
        first_done, last_done = query(
            db,
            dbname,
            "SELECT min((data->>'executed_at')::timestamptz), max((data->>'executed_at')::timestamptz) "
            "FROM alerts_alertevent WHERE kind = 'escalation' AND data->>'event' = 'step'",
        )[0]
        windows = query(
            db,
            dbname,
            "WITH s AS (SELECT (data->>'due_at')::timestamptz AS due, (data->>'lateness_ms')::float AS late "
            "FROM alerts_alertevent WHERE kind = 'escalation' AND data->>'event' = 'step') "
            "SELECT floor(extract(epoch FROM due - (SELECT min(due) FROM s)) / 10)::int AS w, count(*), "
            "round(percentile_cont(0.5) WITHIN GROUP (ORDER BY late)), "
            "round(percentile_cont(0.99) WITHIN GROUP (ORDER BY late)) FROM s GROUP BY 1 ORDER BY 1",
        )
        # Steps of one batch share their executed_at: how many batches, how large.
        batches = query(
            db,
            dbname,
            "SELECT count(DISTINCT data->>'executed_at') FROM alerts_alertevent "
            "WHERE kind = 'escalation' AND data->>'event' = 'step'",
        )[0][0]
        return {
            "performed": count,
            "batches": batches,
            "first_to_last_step_s": round((last_done - first_done).total_seconds(), 1) if first_done else None,
            "lateness_by_10s_of_due_time": [f"{w * 10}s: n={n} p50={p50} p99={p99}" for w, n, p50, p99 in windows],
            "duplicates": duplicates,
            "elapsed_s": round(elapsed, 1),
            "lateness_ms": {
                "p50": round(statistics.median(lateness)) if lateness else None,
                "p99": round(percentile(lateness, 99)) if lateness else None,
                "max": round(max(lateness)) if lateness else None,
            },
            "load_avg_at_start": round(load_before, 2),
            "load_avg_at_end": round(os.getloadavg()[0], 2),
        }


def main() -> None:
    db = dj_database_url.parse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    print(f"runs={RUNS} sweep_interval={SWEEP_INTERVAL}s workers=2x4 threads")
    if not os.environ.get("SWEEPER_ONLY"):
        timers = scenario(db, schedule=True, lead=LEAD_SECONDS, spread=SPREAD_SECONDS)
        print("timers (steps due over one minute):", timers)
    if not os.environ.get("TIMERS_ONLY"):
        sweeper = scenario(db, schedule=False, lead=-1, spread=0)
        print("sweeper only (no messages, all overdue):", sweeper)
    subprocess.run(["uptime"], check=False)


if __name__ == "__main__":
    main()
