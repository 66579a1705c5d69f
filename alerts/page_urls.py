"""Board pages at /board/ (included at the root by alertguardian.urls)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from alerts import board_actions, views

app_name = "board"

board_patterns = [
    path("", views.board_view, name="index"),
    path("rows/", views.board_rows_view, name="rows"),
    path("live/<int:alert_id>/", views.board_live_row_view, name="live-row"),
    path("stats/", views.stats_view, name="stats"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("alerts/<int:alert_id>/", views.alert_detail_view, name="alert-detail"),
    path("alerts/<int:alert_id>/acknowledge/", board_actions.alert_acknowledge_view, name="alert-acknowledge"),
    path("alerts/<int:alert_id>/unacknowledge/", board_actions.alert_unacknowledge_view, name="alert-unacknowledge"),
    path("alerts/<int:alert_id>/resolve/", board_actions.alert_resolve_view, name="alert-resolve"),
    path("alerts/<int:alert_id>/reopen/", board_actions.alert_reopen_view, name="alert-reopen"),
    path("alerts/<int:alert_id>/assign/", board_actions.alert_assign_view, name="alert-assign"),
    path("alerts/<int:alert_id>/note/", board_actions.alert_note_view, name="alert-note"),
]

urlpatterns = [path("board/", include(board_patterns))]
