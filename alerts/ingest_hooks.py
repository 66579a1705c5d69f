"""How apps downstream of ``alerts`` (fallbacks, escalation) hook into ingestion.

- ``AFFECTED_BOOKINGS_COUNTERS``: callables ``(team_id, leg_key) -> int`` appended in the
  other app's ``AppConfig.ready``. A flight alert carries the sum as
  ``affected_bookings_count`` when it is raised. None registered → 0.
- ``flight_legs_changed``: sent on commit after an ingest changed flight legs, with
  ``team_id`` and ``changes`` (a list of ``{"leg", "status", "delay_minutes",
  "findings": [{"kind", "severity", "creates_alert", "notify_customers", "escalate",
  "suggestions", "alert_id"}]}``). Customer notifications for changes that raise no
  agent alert (gate changes, "other" status changes) hang off this signal.
- ``generic_event_received``: sent on commit for each new CloudEvents event of a
  ``generic`` integration, with ``team_id``, ``generic_event_id``, ``type``, ``alert_id``
  (e.g. a future ``payment_failed`` handler in fallbacks).

Receivers live in the other app's ``receivers.py`` and only enqueue work.
"""

from __future__ import annotations

from collections.abc import Callable

from django.dispatch import Signal

AFFECTED_BOOKINGS_COUNTERS: list[Callable[[int, str], int]] = []

flight_legs_changed = Signal()  # team_id, changes
generic_event_received = Signal()  # team_id, generic_event_id, type, alert_id


def affected_bookings_count(*, team_id: int, leg_key: str) -> int:
    return sum(counter(team_id, leg_key) for counter in AFFECTED_BOOKINGS_COUNTERS)
