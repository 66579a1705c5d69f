"""WebSocket routes of the alerts app (collected by ``alertguardian.routing``)."""

from __future__ import annotations

from django.urls import path

from alerts import consumers

websocket_urlpatterns = [
    path("ws/board/", consumers.BoardConsumer.as_asgi()),
    path("ws/alerts/<int:alert_id>/", consumers.AlertConsumer.as_asgi()),
    path("ws/notifications/", consumers.NotificationConsumer.as_asgi()),
]
