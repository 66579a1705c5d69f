from __future__ import annotations

from django.apps import AppConfig


class FallbacksConfig(AppConfig):
    name = "fallbacks"

    def ready(self) -> None:
        from alerts.hooks import register_booking_resolver, register_customer_visibility_hook
        from alerts.ingest_hooks import AFFECTED_BOOKINGS_COUNTERS
        from alerts.views import ALERT_DETAIL_PANELS
        from fallbacks import receivers
        from fallbacks.board import alert_fallbacks_panel
        from fallbacks.selectors import affected_bookings_counts, booking_ref_for_customer, customer_alerts_q

        receivers.connect()
        if alert_fallbacks_panel not in ALERT_DETAIL_PANELS:
            ALERT_DETAIL_PANELS.append(alert_fallbacks_panel)
        # alerts never imports fallbacks: it asks these registries instead.
        register_customer_visibility_hook(customer_alerts_q)
        register_booking_resolver(booking_ref_for_customer)
        if affected_bookings_counts not in AFFECTED_BOOKINGS_COUNTERS:
            AFFECTED_BOOKINGS_COUNTERS.append(affected_bookings_counts)
