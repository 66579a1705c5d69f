from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        # Admin registrations of the ingestion side (alerts/admin.py is the lifecycle's).
        from alerts import (
            ingest_admin,  # noqa: F401
            receivers,
        )

        receivers.connect()
