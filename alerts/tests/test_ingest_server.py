"""Flight events through the production server: uvicorn, SyncStackASGIHandler, group commit.

One uvicorn worker serves this test's PostgreSQL database. A leg's row lock, held from
here, keeps the first request's transaction waiting (seen in pg_stat_activity) while the
others arrive and queue, so the rest are written by group commit; every request still gets
its own answer and audit entry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from alerts.models import FlightEvent
from alerts.tests.ingest_helpers import ensure_default_rules, flight_event, leg_locked, new_integration
from audit.models import AuditEntry
from escalation.tests.processes import ROOT, database_url, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REQUESTS = 12


@pytest.fixture
def server_url() -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": database_url(connection.settings_dict, connection.settings_dict["NAME"]),
        "REDIS_URL": settings.REDIS_URL or "",
        "HTTP_THREADS": "16",
        # Each request looks its token up in the database (not in the process's memo), which
        # is how the test sees from outside that a request has arrived and is about to queue.
        "CONFIG_CACHE_SECONDS": "0",
    }
    command = [sys.executable, "-m", "uvicorn", "alertguardian.asgi:application", "--port", str(port), "--workers", "1"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"uvicorn exited with {process.returncode}"
            try:
                with urllib.request.urlopen(f"{url}/health/", timeout=1):  # noqa: S310 (our loopback server)
                    break
            except OSError:
                assert time.monotonic() < deadline, "uvicorn did not answer within 30 s"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 (our loopback server)
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return response.status, json.loads(response.read())


def backends(*, waiting_on_a_lock: bool = False, idle_after_token_lookup: bool = False) -> int:
    """The server's connections to this test database in the given state (pg_stat_activity)."""
    condition = (
        "wait_event_type = 'Lock'"
        if waiting_on_a_lock
        else "state = 'idle' AND query LIKE '%%alerts_integration%%token_hash%%'"
    )
    assert waiting_on_a_lock != idle_after_token_lookup
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "  # noqa: S608 (one of two constant conditions)
            f"WHERE datname = current_database() AND pid <> pg_backend_pid() AND {condition}"
        )
        return int(cursor.fetchone()[0])


def wait_until(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_concurrent_single_events_are_grouped_and_each_answered(server_url):
    ensure_default_rules()
    integration, token = new_integration()
    endpoint = f"{server_url}/api/v1/integrations/{token}/flight-events"
    assert post(endpoint, flight_event("seed", flight_number="UA1"))[0] == 200
    leg = "UA1-2013-02-08-EWR"
    bodies = [
        flight_event(
            f"e{n}", "delayed", flight_number=f"UA{n + 1}", delay_minutes=20, occurred_at="2013-02-08T01:00:00-05:00"
        )
        for n in range(REQUESTS)
    ]
    with ThreadPoolExecutor(max_workers=REQUESTS) as pool, leg_locked(leg):
        answers = [pool.submit(post, endpoint, bodies[0])]  # UA1: its transaction waits for the lock
        wait_until(lambda: backends(waiting_on_a_lock=True) == 1)
        answers += [pool.submit(post, endpoint, body) for body in bodies[1:]]
        # Each of the others looks its token up on its own connection, then queues for the
        # next transaction without touching the database again.
        wait_until(lambda: backends(idle_after_token_lookup=True) == REQUESTS - 1)
    results = [answer.result(timeout=30) for answer in answers]
    assert {status for status, _ in results} == {200}
    assert all((body["accepted"], body["legs_updated"], body["duplicates"]) == (1, 1, 0) for _, body in results)
    stored = FlightEvent.objects.filter(integration=integration).exclude(event_id="seed")
    assert stored.count() == REQUESTS
    transactions = stored.values("received_at").distinct().count()
    assert transactions == 2  # UA1's own, then one for the eleven that queued behind it
    entries = AuditEntry.objects.filter(action="flight_events.ingested", target_id=str(integration.pk))
    assert entries.count() == REQUESTS + 1  # one per request, grouped or not
