"""Board pages of the fallbacks app (the panel's form posts), under /board/."""

from __future__ import annotations

from django.urls import path

from fallbacks import board

app_name = "fallbacks-board"

urlpatterns = [
    path("board/fallbacks/options/<int:option_id>/apply/", board.option_apply_view, name="option-apply"),
    path(
        "board/alerts/<int:alert_id>/bookings/<int:booking_id>/auto-rebook/",
        board.booking_auto_rebook_view,
        name="booking-auto-rebook",
    ),
    path("board/alerts/<int:alert_id>/reaccommodate/", board.alert_reaccommodate_view, name="reaccommodate"),
    path("board/alerts/<int:alert_id>/fallbacks/refresh/", board.alert_fallbacks_refresh_view, name="refresh"),
]
