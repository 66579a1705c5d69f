"""Reactions of the alerts app to its own domain signals (connected in ``AlertsConfig.ready``).

When an alert opens or closes, the unread count of its team's staff moves: a task
recomputes and publishes it, so the request that raised or resolved the alert does not
pay for one count query per team member.
"""

from __future__ import annotations

import logging
from typing import Any

from alerts import signals

logger = logging.getLogger(__name__)


def enqueue_unread_counts_publish(sender: Any, alert_id: int, **kwargs: Any) -> None:
    from alerts.tasks import unread_counts_publish

    try:
        unread_counts_publish.delay(alert_id)
    except Exception:  # the change is committed; a missed live count only delays a badge update
        logger.exception("could not enqueue unread counts for alert %s", alert_id)


def enqueue_unread_counts_publish_many(sender: Any, alert_ids: list[int], **kwargs: Any) -> None:
    from alerts.tasks import unread_counts_publish_many

    try:
        unread_counts_publish_many.delay(list(alert_ids))
    except Exception:
        logger.exception("could not enqueue unread counts for alerts %s", alert_ids)


def connect() -> None:
    for signal in (signals.alert_raised, signals.alert_resolved, signals.alert_reopened):
        signal.connect(enqueue_unread_counts_publish, weak=False)  # connecting twice is a no-op
    signals.alerts_raised.connect(enqueue_unread_counts_publish_many, weak=False)
