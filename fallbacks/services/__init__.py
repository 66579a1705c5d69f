"""Writes of the fallbacks app. Import from here: ``from fallbacks.services import booking_create``."""

from __future__ import annotations

from fallbacks.services.apply import (
    AutoRebookResult,
    booking_auto_rebook,
    fallback_option_apply,
    option_apply_locked,
    option_public,
)
from fallbacks.services.bookings import SegmentInput, booking_create, segment_input_from_inventory, segments_validate
from fallbacks.services.bulk import BulkResult, alert_disruption_process, alert_reaccommodate, fallbacks_for_alert
from fallbacks.services.inventory import (
    LoadResult,
    alternatives_precompute,
    hotel_availability_sync,
    inventory_load,
)
from fallbacks.services.notices import alert_customers_notify, notice_mark_read
from fallbacks.services.requests import change_request_create
from fallbacks.services.suggestions import booking_options_compute, booking_options_current

__all__ = [
    "AutoRebookResult",
    "BulkResult",
    "LoadResult",
    "SegmentInput",
    "alert_customers_notify",
    "alert_disruption_process",
    "alert_reaccommodate",
    "alternatives_precompute",
    "booking_auto_rebook",
    "booking_create",
    "booking_options_compute",
    "booking_options_current",
    "change_request_create",
    "fallback_option_apply",
    "fallbacks_for_alert",
    "hotel_availability_sync",
    "inventory_load",
    "notice_mark_read",
    "option_apply_locked",
    "option_public",
    "segment_input_from_inventory",
    "segments_validate",
]
