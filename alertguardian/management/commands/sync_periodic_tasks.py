from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from alertguardian.periodic import declared_jobs, sync_periodic_tasks


class Command(BaseCommand):
    help = "Create the periodic jobs declared in code in django-celery-beat's tables."

    def handle(self, *args: Any, **options: Any) -> None:
        created = sync_periodic_tasks()
        self.stdout.write(f"{len(declared_jobs())} periodic jobs declared; created: {', '.join(created) or 'none'}")
