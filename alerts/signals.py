"""Domain signals: how apps downstream of ``alerts`` (escalation, fallbacks) react.

Each is sent after the transaction that made the change commits, with ``alert_id``
(and extra keywords where noted). Receivers live in the other app's ``receivers.py``
and only enqueue work; they never write in the sender's transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import Signal

alert_raised = Signal()  # alert_id
# alert_ids: alerts raised together (alerts_raise_many, e.g. one flight-event batch), instead
# of one alert_raised each; every receiver of alert_raised takes this one too, and enqueues
# its work in chunks (``in_chunks``): one task per ALERTS_PER_TASK alerts, not one per alert,
# while a storm of hundreds still spreads over the workers.
alerts_raised = Signal()
ALERTS_PER_TASK = 20
alert_updated = Signal()  # alert_id, severity_raised: bool
alert_acknowledged = Signal()  # alert_id, user_id
alert_unacknowledged = Signal()  # alert_id, user_id
alert_resolved = Signal()  # alert_id, user_id (None when resolved by an integration)
alert_reopened = Signal()  # alert_id, user_id
alert_assigned = Signal()  # alert_id, assignee_id
alert_broadcast = Signal()  # alert_id, team_id (also raised: alert_raised is sent for the same alert)


def in_chunks(alert_ids: list[int], size: int = ALERTS_PER_TASK) -> list[list[int]]:
    """``alerts_raised``'s ids, cut into the lists one task each should take."""
    return [list(alert_ids[start : start + size]) for start in range(0, len(alert_ids), size)]


def send_on_commit(signal: Signal, **kwargs: Any) -> None:
    """Send after commit. ``robust``: a receiver that cannot enqueue (broker down) is logged and
    must not turn a committed change into an error; the periodic sweeps make good what it lost."""
    transaction.on_commit(lambda: signal.send(sender=None, **kwargs), robust=True)
