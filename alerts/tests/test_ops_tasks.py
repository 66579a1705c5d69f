"""The periodic jobs: declared for django-celery-beat, registered with Celery, runnable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from accounts.tests.factories import TeamFactory
from alertguardian.celery import app
from alertguardian.periodic import sync_periodic_tasks
from alerts.models import Alert
from alerts.ops.models import SlaPolicy
from alerts.periodic import PERIODIC_JOBS
from alerts.tests.ops_factories import frozen, raise_at

pytestmark = pytest.mark.django_db


def test_every_job_is_synced_to_beat_and_names_a_registered_task():
    app.loader.import_default_modules()
    sync_periodic_tasks()
    for job in PERIODIC_JOBS:
        stored = PeriodicTask.objects.get(name=job.name)
        assert stored.task == job.task
        assert job.task in app.tasks, job.task
    assert PeriodicTask.objects.get(task="alerts.ops.retention_run").crontab is not None


def test_periodic_tasks_run_through_celery():
    team = TeamFactory()
    SlaPolicy.objects.create(team=team, severity="critical", ack_within_minutes=5, at_risk_buffer_minutes=0)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    raise_at(start, team=team, type="flight_cancelled", severity="critical", title="AA1 cancelled")
    with frozen(start + timedelta(minutes=20)):
        results = {job.task: app.tasks[job.task].apply().get() for job in PERIODIC_JOBS}
    assert results["alerts.ops.sla_check"] == {"fired": 1, "cleared": 0}
    assert results["alerts.ops.unassigned_check"]["fired"] == 1
    assert results["alerts.ops.daily_summaries_dispatch"] == 1  # 09:20 UTC is past 08:00 in UTC
    assert set(Alert.objects.values_list("type", flat=True)) == {"flight_cancelled", "sla_breached", "alert_unassigned"}
