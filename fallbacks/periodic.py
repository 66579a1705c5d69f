"""Periodic jobs of the fallbacks app (synced into django-celery-beat after migrate)."""

from __future__ import annotations

from alertguardian.periodic import PeriodicJob

PERIODIC_JOBS = [
    PeriodicJob(
        name="fallbacks: hotel availability sync",
        task="fallbacks.sync_hotel_availability",
        crontab="15 3 * * *",
        kwargs={"days": 14},
        description="Daily: store each provider's hotel rooms and rates for the next 14 nights.",
    ),
    PeriodicJob(
        name="fallbacks: pre-compute alternatives for at-risk departures",
        task="fallbacks.precompute_alternatives",
        every_seconds=900,
        kwargs={"horizon_hours": 24},
        description="Every 15 min: alternatives for flights leaving in 24 h that are delayed or "
        "depart an airport with an open disruption alert (AlternativeRouteCache).",
    ),
]
