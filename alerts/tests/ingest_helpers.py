"""Helpers for the ingestion tests (plain functions; each test module declares its fixtures)."""

from __future__ import annotations

import importlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connections, transaction

from accounts.tests.factories import TeamFactory
from alertguardian.tests.live import captured_groups
from alerts.models import DetectionRule, FlightStatus, IntegrationKind
from alerts.services.integrations import integration_create

SAMPLES = Path(__file__).parent / "samples"


@contextmanager
def held_open_elsewhere(work: Callable[[], object]) -> Iterator[threading.Event]:
    """Run ``work`` in a transaction on another connection and keep that transaction open
    (its locks held, its rows uncommitted) until the block ends or the yielded event is set."""
    done, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                work()
                done.set()
                release.wait(timeout=30)
        finally:
            connections["default"].close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert done.wait(timeout=10)
    try:
        yield release
    finally:
        release.set()
        holder.join(timeout=30)


def leg_locked(key: str) -> AbstractContextManager[threading.Event]:
    """Hold the row lock of the leg ``key`` (any team) from another connection until the block ends."""
    return held_open_elsewhere(lambda: list(FlightStatus.objects.select_for_update().filter(key=key)))


def when_a_connection_waits_on_a_lock(then: Callable[[], object]) -> threading.Thread:
    """Call ``then`` (from a thread with its own connection) once some connection to this
    database waits on a lock (PostgreSQL's pg_stat_activity): no guessed sleep."""

    def watch() -> None:
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with connections["default"].cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                    if cursor.fetchone()[0]:
                        break
                time.sleep(0.01)
        finally:
            connections["default"].close()
            then()

    watcher = threading.Thread(target=watch)
    watcher.start()
    return watcher


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())


def ensure_default_rules() -> None:
    """The data migration's defaults (a transactional test elsewhere may have flushed them)."""
    if not DetectionRule.objects.filter(team__isnull=True).exists():
        migration = importlib.import_module("alerts.migrations.0002_ingestion")
        migration.seed_detection_rules(apps, None)


def new_integration(team: Any = None, kind: str = IntegrationKind.FLIGHT_EVENTS, name: str = "feed") -> Any:
    """(integration, token) for a fresh integration of ``team`` (a new team by default)."""
    issued = integration_create(team=team if team is not None else TeamFactory.create(), kind=kind, name=name, by=None)
    return issued.integration, issued.token


def flight_event(event_id: str = "e1", event_type: str = "scheduled", **overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": "2013-02-08T00:00:00-05:00",
        "flight_number": "UA1545",
        "origin": "EWR",
        "destination": "IAH",
        "scheduled_departure": "2013-02-08T05:15:00-05:00",
        "scheduled_arrival": "2013-02-08T08:19:00-06:00",
    }
    event.update(overrides)
    return {key: value for key, value in event.items() if value is not ...}


LEG = "UA1545-2013-02-08-EWR"


@contextmanager
def captured_group(group: str) -> Iterator[list[dict[str, Any]]]:
    """Collect the live events sent to ``group`` through the real channel layer."""
    with captured_groups(group) as received:
        yield received[group]
