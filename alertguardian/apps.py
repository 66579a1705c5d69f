from __future__ import annotations

from django.apps import AppConfig


class AlertGuardianConfig(AppConfig):
    """The project package as an app: shared management commands and periodic-task sync."""

    name = "alertguardian"
    verbose_name = "Alert Guardian"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from alertguardian.periodic import sync_periodic_tasks_after_migrate

        post_migrate.connect(sync_periodic_tasks_after_migrate, sender=self)
