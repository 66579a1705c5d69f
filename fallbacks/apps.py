from __future__ import annotations

from django.apps import AppConfig


class FallbacksConfig(AppConfig):
    name = "fallbacks"

    def ready(self) -> None:
        from alerts.selectors import CUSTOMER_VISIBILITY_HOOKS
        from fallbacks import receivers
        from fallbacks.selectors import customer_alerts_q

        receivers.connect()
        if customer_alerts_q not in CUSTOMER_VISIBILITY_HOOKS:
            CUSTOMER_VISIBILITY_HOOKS.append(customer_alerts_q)
