"""Live events of the escalation app, sent to ``user.<id>`` (the ``/ws/notifications/`` socket).

Schema (version 1)::

    {"type": "notification.created", "version": 1,
     "notification": {"id", "kind", "title", "body", "alert_id", "created_at", "read_at"},
     "unread_notifications": <int>}
    {"type": "notification.read", "version": 1, "ids": [<int>, ...], "unread_notifications": <int>}
"""

from __future__ import annotations

from typing import Any

from alertguardian.realtime import publish_many_on_commit, publish_on_commit, user_group
from escalation.models import Notification

EVENT_VERSION = 1


def notification_public(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "alert_id": notification.alert_id,
        "created_at": notification.created_at.isoformat(),
        "read_at": notification.read_at.isoformat() if notification.read_at else None,
    }


def publish_notifications_created(created: list[tuple[Notification, int]]) -> None:
    """``notification.created`` for each (in-app notification, its recipient's unread count),
    sent together on commit."""
    messages = []
    for notification, unread in created:
        assert notification.recipient_id is not None
        event = {
            "type": "notification.created",
            "version": EVENT_VERSION,
            "notification": notification_public(notification),
            "unread_notifications": unread,
        }
        messages.append((user_group(notification.recipient_id), event))
    publish_many_on_commit(messages)


def publish_notifications_read(user_id: int, ids: list[int], *, unread: int) -> None:
    event = {"type": "notification.read", "version": EVENT_VERSION, "ids": ids, "unread_notifications": unread}
    publish_on_commit(user_group(user_id), event)
