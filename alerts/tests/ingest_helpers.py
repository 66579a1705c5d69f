"""Helpers for the ingestion tests (plain functions; each test module declares its fixtures)."""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
def leg_locked(key: str) -> Iterator[None]:
    """Hold the row lock of the leg ``key`` (any team) from another connection until the block ends."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic():
            list(FlightStatus.objects.select_for_update().filter(key=key))
            locked.set()
            release.wait(timeout=30)
        connections["default"].close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(timeout=10)
    try:
        yield
    finally:
        release.set()
        holder.join(timeout=30)


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
