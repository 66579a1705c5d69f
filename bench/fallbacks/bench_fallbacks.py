"""Fallbacks benchmarks (PostgreSQL), see docs/benchmarks.md.

    DEBUG=1 DATABASE_URL=postgres://... REDIS_URL=redis://... \
        .venv/bin/python bench/fallbacks/bench_fallbacks.py [--bookings 300] [--runs 50]

Runs in the Django *test* database of DATABASE_URL (``test_<name>``, created and
migrated on first use, flushed at every start), so it never touches real data:

1. bulk re-accommodation: one real day of inventory (2013-02-08, all 930 departures +
   synthetic return legs, next day too), 300 bookings on one JFK→LAX flight, the flight
   cancelled, then ``alert_reaccommodate`` timed end to end (every booking rebooked in its
   own transaction with seats, audit, timeline and live events). Target ≤ 5 s.
2. suggestions for one booking with that inventory: ``booking_options_compute`` (search,
   rank, persist the options) timed ``--runs`` times. Target ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertguardian.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

DAY = date(2013, 2, 8)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=300)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="cProfile the bulk run (slower; for digging)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("set DATABASE_URL to a PostgreSQL database")
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=True)
    call_command("flush", interactive=False, verbosity=0)

    from accounts.models import Team, User, UserRole
    from alerts.services import alert_raise
    from fallbacks.models import Booking, FallbackAction, InventoryFlight
    from fallbacks.services import (
        alert_reaccommodate,
        booking_create,
        booking_options_compute,
        inventory_load,
        segment_input_from_inventory,
    )

    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    started = time.perf_counter()
    result = inventory_load(start=DAY, days=2)
    print(
        f"inventory: {result.flights_created} flights, {result.hotels} hotels, {result.ground_routes} ground routes "
        f"loaded in {time.perf_counter() - started:.1f} s"
    )

    team = Team.objects.create(name="Bench Travel", slug="bench-travel")
    agent = User.objects.create_user("agent@bench.test", None, role=UserRole.AGENT)
    customers = [User.objects.create_user(f"c{i}@bench.test", None, role=UserRole.CUSTOMER) for i in range(20)]
    cancelled = (
        InventoryFlight.objects.filter(origin="JFK", destination="LAX", service_date=DAY)
        .order_by("scheduled_departure")
        .first()
    )
    assert cancelled is not None
    InventoryFlight.objects.filter(pk=cancelled.pk).update(seats=max(cancelled.seats, args.bookings + 20))
    for i in range(args.bookings):
        booking_create(
            team=team,
            customer=customers[i % len(customers)],
            by=agent,
            segments=[segment_input_from_inventory(cancelled)],
            passengers=1,
            reference=f"B{i:05d}",
            total_paid=Decimal("346.00"),
        )
    alert = alert_raise(
        team=team,
        type="flight_cancelled",
        severity="critical",
        title=f"{cancelled.leg_key} cancelled",
        resource=cancelled.leg_key,
        dedup_key=f"flight:{cancelled.leg_key}:cancelled",
    ).alert

    # --- suggestions for one booking ---------------------------------------------------------
    probe = Booking.objects.filter(team=team).order_by("id").first()
    assert probe is not None
    booking_options_compute(booking=probe)  # warm caches (airportsdata, zoneinfo)
    timings = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        options = booking_options_compute(booking=probe)
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    print(
        f"suggestions for one booking ({len(options)} options): median {statistics.median(timings):.1f} ms, "
        f"p95 {timings[int(len(timings) * 0.95) - 1]:.1f} ms, max {timings[-1]:.1f} ms over {args.runs} runs"
    )

    # --- bulk re-accommodation -----------------------------------------------------------------
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0 = time.perf_counter()
    bulk = alert_reaccommodate(alert_id=alert.pk, by=agent)
    elapsed = time.perf_counter() - t0
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"fallbacks/|audit/|realtime", 30)
    print(
        f"bulk re-accommodation of {bulk.considered} bookings: {len(bulk.rebooked)} rebooked, "
        f"{len(bulk.failed)} failed in {elapsed:.2f} s ({elapsed / max(bulk.considered, 1) * 1000:.1f} ms per booking)"
    )
    assert FallbackAction.objects.filter(alert=alert).count() == len(bulk.rebooked)
    t0 = time.perf_counter()
    again = alert_reaccommodate(alert_id=alert.pk, by=agent)
    print(f"second run (idempotent): {len(again.rebooked)} rebooked in {time.perf_counter() - t0:.2f} s")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
