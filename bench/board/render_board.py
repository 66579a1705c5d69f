"""Server time of the board page with many open alerts (run after seed.py).

    DEBUG=0 ALLOW_DEV_SECRET=1 DATABASE_URL=... REDIS_URL=... \\
        .venv/bin/python bench/board/render_board.py --rounds 50

Renders GET /board/ (and a filtered and a live-row request) in process through the
whole Django stack (middleware, session, view, templates) with the test client, as
the seeded agent, and prints the timing distribution and the number of SQL queries.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertguardian.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import Team, User  # noqa: E402
from alerts.models import OPEN_STATUSES, Alert  # noqa: E402


def measure(client: Client, url: str, rounds: int, **headers: str) -> tuple[list[float], list[float], int]:
    """Wall time per request, CPU time of this (the web) process per request, query count."""
    client.get(url, **headers)  # warm-up: template cache, session
    timings, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url, **headers)
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        client.get(url, **headers)
    return timings, cpu, len(queries)


def report(name: str, timings: list[float], cpu: list[float], queries: int) -> None:
    ordered = sorted(timings)
    p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)]
    print(
        f"{name:<34} n={len(ordered):<4} median={statistics.median(ordered):6.1f} ms  "
        f"p95={p95:6.1f} ms  max={ordered[-1]:6.1f} ms  web-process CPU median={statistics.median(cpu):5.1f} ms  "
        f"queries={queries}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--email", default="ana@bench.example")
    parser.add_argument("--team", default="Benchmark Desk")
    args = parser.parse_args()
    team = Team.objects.get(name=args.team)
    user = User.objects.get(email=args.email)
    open_alerts = Alert.objects.filter(team=team, status__in=OPEN_STATUSES).count()
    print(
        f"team={team.name!r} open alerts={open_alerts} database={connection.vendor} "
        f"DEBUG={os.environ.get('DEBUG')} load average={os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    client = Client()
    client.force_login(user)
    client.get(f"/board/?team={team.pk}")
    report("GET /board/", *measure(client, "/board/", args.rounds))
    report("GET /board/?severity=high&q=UA", *measure(client, "/board/?severity=high&q=UA", args.rounds))
    first = (
        Alert.objects.filter(team=team, status__in=OPEN_STATUSES)
        .order_by("-severity", "created_at")
        .values_list("pk", flat=True)
        .first()
    )
    report(
        "GET /board/live/<id>/ (live row)",
        *measure(client, f"/board/live/{first}/?team={team.pk}", args.rounds, HTTP_ACCEPT="application/json"),
    )


if __name__ == "__main__":
    main()
