"""The one way to send live events: ``publish_on_commit(group, event)``.

Groups: ``team.<id>`` (board), ``user.<id>`` (personal notifications), ``alert.<id>``
(detail page). Events are sent only after the surrounding transaction commits, so a
rolled-back change never reaches a browser. Consumers receive ``{"type": "realtime.event",
"event": {...}}`` and forward ``event`` to the socket as JSON.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

CONSUMER_MESSAGE_TYPE = "realtime.event"


def team_group(team_id: int) -> str:
    return f"team.{team_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def alert_group(alert_id: int) -> str:
    return f"alert.{alert_id}"


def publish_now(group: str, event: dict[str, Any]) -> None:
    """Send immediately. Only for callers already outside a transaction; prefer publish_on_commit."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": CONSUMER_MESSAGE_TYPE, "event": event})
    except Exception:  # a live update is best-effort; the database already holds the truth
        logger.exception("realtime publish to %s failed", group)


def publish_on_commit(group: str, event: dict[str, Any]) -> None:
    """Queue ``event`` for ``group``; it is sent when the current transaction commits."""
    transaction.on_commit(lambda: publish_now(group, event))
