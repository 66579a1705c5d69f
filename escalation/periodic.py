"""Periodic jobs of the escalation app (synced into django-celery-beat after ``migrate``)."""

from __future__ import annotations

from django.conf import settings

from alertguardian.periodic import PeriodicJob

PERIODIC_JOBS = [
    PeriodicJob(
        name="escalation: sweep overdue runs",
        task="escalation.sweep_runs",
        every_seconds=settings.ESCALATION_SWEEP_INTERVAL_SECONDS,
        description="Performs overdue escalation steps whose timer message was lost, starts missing runs "
        "and re-enqueues lost notification deliveries. Also runs when a worker starts.",
    ),
]
