"""Routes under /api/v1/ (included by alertguardian.urls)."""

from __future__ import annotations

from django.urls import path

from fallbacks import apis

app_name = "fallbacks"

urlpatterns = [
    path("bookings", apis.BookingsApi.as_view(), name="bookings"),
    path("bookings/notices", apis.NoticeListApi.as_view(), name="notices"),
    path("bookings/notices/<int:notice_id>/read", apis.NoticeReadApi.as_view(), name="notice-read"),
    path("bookings/<int:booking_id>", apis.BookingDetailApi.as_view(), name="booking-detail"),
    path("bookings/<int:booking_id>/fallbacks", apis.BookingFallbacksApi.as_view(), name="booking-fallbacks"),
    path(
        "bookings/<int:booking_id>/request-change",
        apis.BookingRequestChangeApi.as_view(),
        name="booking-request-change",
    ),
    path("bookings/<int:booking_id>/auto-rebook", apis.BookingAutoRebookApi.as_view(), name="booking-auto-rebook"),
    path("fallbacks/<int:option_id>/apply", apis.OptionApplyApi.as_view(), name="option-apply"),
    path("alerts/<int:alert_id>/bookings", apis.AlertBookingsApi.as_view(), name="alert-bookings"),
    path("alerts/<int:alert_id>/fallbacks", apis.AlertFallbacksApi.as_view(), name="alert-fallbacks"),
    path("alerts/<int:alert_id>/reaccommodate", apis.AlertReaccommodateApi.as_view(), name="alert-reaccommodate"),
    path("inventory/flights", apis.InventoryFlightListApi.as_view(), name="inventory-flights"),
    path(
        "inventory/flights/<str:leg_key>/alternatives",
        apis.FlightAlternativesApi.as_view(),
        name="flight-alternatives",
    ),
]
