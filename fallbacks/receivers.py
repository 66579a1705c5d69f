"""Reactions to other apps' domain signals. Receivers only enqueue work, after commit.

Connected in ``FallbacksConfig.ready``:
- ``alerts.signals.alert_raised`` → ``on_alert_raised``: a new flight disruption alert
  notifies affected customers and pre-computes their options (task
  ``fallbacks.process_disruption``); ``alerts_raised`` (alerts raised together) →
  ``on_alerts_raised``, the same in tasks of up to 20 alerts (``fallbacks.process_disruptions``).
- ``escalation.signals.fallback_requested(alert_id, run_id, mode)`` → ``on_fallback_requested``
  (connected when the escalation app declares it): the escalation fallback step runs
  ``fallbacks_for_alert(alert_id, mode)`` in task ``fallbacks.run_for_alert``.
"""

from __future__ import annotations

import importlib
from functools import partial
from typing import Any

from django.db import transaction


def on_alert_raised(sender: Any, alert_id: int, **kwargs: Any) -> None:
    from fallbacks.tasks import process_disruption

    transaction.on_commit(lambda: process_disruption.delay(alert_id=alert_id))


def on_alerts_raised(sender: Any, alert_ids: list[int], **kwargs: Any) -> None:
    from alerts.signals import in_chunks
    from fallbacks.tasks import process_disruptions

    for chunk in in_chunks(alert_ids):
        transaction.on_commit(partial(process_disruptions.delay, alert_ids=chunk))


def on_fallback_requested(
    sender: Any, alert_id: int, mode: str = "suggest", run_id: int | None = None, **kwargs: Any
) -> None:
    from fallbacks.tasks import run_for_alert

    transaction.on_commit(lambda: run_for_alert.delay(alert_id=alert_id, mode=mode, run_id=run_id))


def connect() -> None:
    from alerts.signals import alert_raised, alerts_raised

    alert_raised.connect(on_alert_raised, dispatch_uid="fallbacks.on_alert_raised")
    alerts_raised.connect(on_alerts_raised, dispatch_uid="fallbacks.on_alerts_raised")
    try:
        escalation_signals = importlib.import_module("escalation.signals")
    except ModuleNotFoundError as exc:
        if exc.name != "escalation.signals":
            raise
        return  # escalation's signals are not merged yet
    fallback_requested = getattr(escalation_signals, "fallback_requested", None)
    if fallback_requested is not None:
        fallback_requested.connect(on_fallback_requested, dispatch_uid="fallbacks.on_fallback_requested")
