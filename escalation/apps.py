from __future__ import annotations

from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"

    def ready(self) -> None:
        from escalation import receivers

        receivers.connect()
