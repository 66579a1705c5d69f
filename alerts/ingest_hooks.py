"""How apps downstream of ``alerts`` (fallbacks, escalation) hook into ingestion.

- ``AFFECTED_BOOKINGS_COUNTERS``: callables ``(team_id, leg_keys) -> {leg_key: count}``
  appended in the other app's ``AppConfig.ready`` (one call per ingest for every leg that
  raises an alert, so a batch costs one query, not one per alert). A flight alert carries
  the sum as ``affected_bookings_count`` when it is raised. None registered → 0.
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

AFFECTED_BOOKINGS_COUNTERS: list[Callable[[int, list[str]], dict[str, int]]] = []

flight_legs_changed = Signal()  # team_id, changes
generic_event_received = Signal()  # team_id, generic_event_id, type, alert_id


def affected_bookings_counts(*, team_id: int, leg_keys: list[str]) -> dict[str, int]:
    """Bookings on each leg, summed over the registered counters (legs without any: absent)."""
    totals: dict[str, int] = {}
    if not leg_keys:
        return totals
    for counter in AFFECTED_BOOKINGS_COUNTERS:
        for leg_key, count in counter(team_id, leg_keys).items():
            totals[leg_key] = totals.get(leg_key, 0) + count
    return totals
