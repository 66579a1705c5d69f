"""Periodic jobs are declared in code and stored in django-celery-beat's tables.

Each app lists its jobs in ``PERIODIC_JOBS`` of its ``periodic.py``; after every
``migrate`` (and with ``manage.py sync_periodic_tasks``) they are created or updated,
so they are visible and editable in the admin. An admin's change to the interval or
the enabled flag is kept: the sync only creates missing jobs and fixes the task name.
"""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str
    every_seconds: int | None = None
    crontab: str | None = None  # "minute hour day_of_month month_of_year day_of_week"
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""


def declared_jobs() -> list[PeriodicJob]:
    jobs: list[PeriodicJob] = []
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.periodic")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.periodic":
                raise
            continue
        jobs.extend(getattr(module, "PERIODIC_JOBS", []))
    return jobs


def sync_periodic_tasks() -> list[str]:
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    created: list[str] = []
    for job in declared_jobs():
        defaults: dict[str, Any] = {"task": job.task, "kwargs": json.dumps(job.kwargs), "description": job.description}
        if job.every_seconds is not None:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=job.every_seconds, period=IntervalSchedule.SECONDS
            )
            defaults["interval"] = interval
        elif job.crontab is not None:
            minute, hour, dom, month, dow = job.crontab.split()
            cron, _ = CrontabSchedule.objects.get_or_create(
                minute=minute, hour=hour, day_of_month=dom, month_of_year=month, day_of_week=dow, timezone="UTC"
            )
            defaults["crontab"] = cron
        task, was_created = PeriodicTask.objects.get_or_create(name=job.name, defaults=defaults)
        if was_created:
            created.append(job.name)
        elif task.task != job.task:
            task.task = job.task
            task.save(update_fields=["task"])
    return created


def sync_periodic_tasks_after_migrate(**kwargs: Any) -> None:
    try:
        sync_periodic_tasks()
    except Exception:  # pragma: no cover - e.g. migrating backwards past celery-beat's tables
        logger.warning("periodic task sync skipped", exc_info=True)
