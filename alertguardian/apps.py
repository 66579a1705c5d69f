from __future__ import annotations

from django.apps import AppConfig


class AlertGuardianConfig(AppConfig):
    """The project package as an app: shared management commands and periodic-task sync."""

    name = "alertguardian"
    verbose_name = "Alert Guardian"

    def ready(self) -> None:
        from django.apps import apps
        from django.db.models.signals import post_migrate

        from alertguardian.periodic import sync_periodic_tasks_after_migrate

        # post_migrate is sent only to apps with a models module (this one has none), and
        # after every migration has run: hook the app that owns the periodic-task tables.
        post_migrate.connect(
            sync_periodic_tasks_after_migrate,
            sender=apps.get_app_config("django_celery_beat"),
            dispatch_uid="alertguardian.sync_periodic_tasks",
        )
