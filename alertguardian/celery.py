"""The Celery application: ``celery -A alertguardian worker`` / ``beat``."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertguardian.settings")

app = Celery("alertguardian")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def drop_unusable_connections(sender: Any = None, task: Any = None, **kwargs: Any) -> None:
    """Keep database connections between tasks as Django keeps them between requests.

    Celery's Django fixup closes every connection before and after every task unless
    ``CELERY_DB_REUSE_MAX`` is set (settings.py sets it). On PostgreSQL a new connection
    per task (connect, authenticate, set the time zone) was more than half of a busy
    escalation worker's time. Here a connection is dropped only when it broke or outlived
    ``CONN_MAX_AGE``; eager tasks (tests) run inside the caller's transaction and are left alone.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
