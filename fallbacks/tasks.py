"""Celery tasks: ids in, re-fetch, call a service; a missing object is logged, not an error."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(name="fallbacks.process_disruption", ignore_result=True)
def process_disruption(alert_id: int) -> dict[str, Any]:
    from fallbacks.services import alert_disruption_process

    result = alert_disruption_process(alert_id=alert_id)
    logger.info("disruption alert %s processed: %s", alert_id, result)
    return result


@shared_task(name="fallbacks.process_disruptions", ignore_result=True)
def process_disruptions(alert_ids: list[int]) -> None:
    """``process_disruption`` for alerts raised together; one alert's failure does not stop
    the others."""
    from fallbacks.services import alert_disruption_process

    for alert_id in alert_ids:
        try:
            result = alert_disruption_process(alert_id=alert_id)
        except Exception:
            logger.exception("disruption alert %s could not be processed", alert_id)
        else:
            logger.info("disruption alert %s processed: %s", alert_id, result)


@shared_task(name="fallbacks.run_for_alert", ignore_result=True)
def run_for_alert(alert_id: int, mode: str, run_id: int | None = None) -> dict[str, Any]:
    from alertguardian.api import InvalidInput
    from fallbacks.services import fallbacks_for_alert

    try:
        result = fallbacks_for_alert(alert_id, mode, run_id)
    except InvalidInput as exc:
        logger.error("fallbacks for alert %s (run %s) refused: %s %s", alert_id, run_id, exc.message, exc.details)
        return {"alert_id": alert_id, "mode": mode, "refused": exc.message}
    logger.info("fallbacks %s for alert %s (run %s): %s", mode, alert_id, run_id, result)
    return result


@shared_task(name="fallbacks.sync_hotel_availability", ignore_result=True)
def sync_hotel_availability(days: int = 14) -> int:
    from fallbacks.services import hotel_availability_sync

    return hotel_availability_sync(start=timezone.localdate(), days=days)


@shared_task(name="fallbacks.precompute_alternatives", ignore_result=True)
def precompute_alternatives(horizon_hours: int = 24) -> int:
    from fallbacks.services import alternatives_precompute

    return alternatives_precompute(horizon_hours=horizon_hours)
