"""Board data for screenshots and benchmarks (not for tests).

    DEBUG=1 DATABASE_URL=... .venv/bin/python bench/board/seed.py --open 10000 [--reset]

Creates the team "Benchmark Desk" with two agents (ana@bench.example / bo@bench.example,
password ``bench-password-1``) and ``--open`` open alerts written with ``bulk_create`` (no
timeline, no audit: this is load, not history), plus a few alerts raised through the real
services so that their pages have a timeline. Prints the team id.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertguardian.settings")

import django

django.setup()

from django.utils import timezone  # noqa: E402

from accounts.models import Team, TeamMembership, TeamRole, User, UserRole  # noqa: E402
from alerts.models import Alert, AlertStatus  # noqa: E402
from alerts.services import alert_acknowledge, alert_assign, alert_note_add, alert_raise  # noqa: E402

PASSWORD = "bench-password-1"
AIRPORTS = ["EWR", "JFK", "LGA", "ORD", "ATL", "SFO", "LAX", "BOS", "DFW", "DEN", "MIA", "SEA", "IAD", "CLT"]
CARRIERS = ["UA", "AA", "DL", "B6", "WN", "AS", "NK", "F9"]
KINDS = [
    ("flight_cancelled", "critical", "{flight} cancelled at {origin}"),
    ("flight_delayed", "high", "{flight} delayed 3 h 10 min at {origin}"),
    ("flight_delayed", "medium", "{flight} delayed 75 min at {origin}"),
    ("flight_diverted", "high", "{flight} diverted from {origin}"),
    ("hotel_overbooked", "medium", "Hotel overbooked near {origin}: 6 guests without rooms"),
    ("payment_failed", "low", "Payment failed for rebooking on {flight}"),
    ("route_blocked", "low", "Ground route blocked from {origin}"),
]


def user(email: str, name: str) -> User:
    found = User.objects.filter(email=email).first()
    if found:
        return found
    return User.objects.create_user(email=email, password=PASSWORD, role=UserRole.AGENT, full_name=name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=10_000, help="open alerts to bulk-create")
    parser.add_argument("--team", default="Benchmark Desk")
    parser.add_argument("--reset", action="store_true", help="delete the team's alerts first")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    team, _ = Team.objects.get_or_create(name=args.team, defaults={"slug": args.team.lower().replace(" ", "-")})
    ana, bo = user("ana@bench.example", "Ana Lima"), user("bo@bench.example", "Bo Berg")
    for person in (ana, bo):
        TeamMembership.objects.get_or_create(team=team, user=person, defaults={"role": TeamRole.AGENT})
    other, _ = Team.objects.get_or_create(name="Night Shift", defaults={"slug": "night-shift"})
    TeamMembership.objects.get_or_create(team=other, user=ana, defaults={"role": TeamRole.AGENT})
    if args.reset:
        Alert.objects.filter(team=team).delete()

    now = timezone.now()
    batch: list[Alert] = []
    for n in range(args.open):
        kind, severity, title = rng.choice(KINDS)
        origin = rng.choice(AIRPORTS)
        flight = f"{rng.choice(CARRIERS)}{rng.randint(100, 2999)}"
        created = now - timedelta(minutes=rng.randint(1, 60 * 24 * 3))
        status = AlertStatus.TRIGGERED if rng.random() < 0.7 else AlertStatus.ACKNOWLEDGED
        batch.append(
            Alert(
                team=team,
                type=kind,
                severity=severity,
                status=status,
                title=title.format(flight=flight, origin=origin),
                resource=f"{flight}-{created:%Y-%m-%d}-{origin}",
                dedup_key=f"bench:{n}:{rng.random()}",
                created_at=created,
                updated_at=created,
                last_occurred_at=created,
                acknowledged_at=created + timedelta(minutes=4) if status == AlertStatus.ACKNOWLEDGED else None,
                ack_deadline=now + timedelta(minutes=rng.randint(-5, 15)) if status == AlertStatus.TRIGGERED else None,
                assignee=rng.choice([None, None, ana, bo]),
                affected_bookings_count=rng.randint(0, 40),
            )
        )
    Alert.objects.bulk_create(batch, batch_size=2000)

    # A few with a real history for the alert page.
    raised = alert_raise(
        team=team,
        type="flight_cancelled",
        severity="critical",
        title="UA1545 cancelled at EWR",
        message="Cancelled by the carrier (crew). 38 travellers booked on this leg.",
        resource="UA1545-2013-02-08-EWR",
        dedup_key=f"flight:UA1545-2013-02-08-EWR:cancelled:{now.timestamp()}",
        metadata={"origin": "EWR", "destination": "IAH", "carrier": "UA"},
        affected_bookings_count=38,
    ).alert
    # The escalation app sets the deadline when its run starts; stand in for it here.
    Alert.objects.filter(pk=raised.pk).update(ack_deadline=now + timedelta(minutes=4, seconds=30))
    alert_assign(alert_id=raised.pk, by=ana, assignee=bo)
    alert_note_add(
        alert_id=raised.pk, by=bo, note="Called the desk at EWR; next UA to IAH departs 18:40 with 22 seats."
    )
    acked = alert_raise(
        team=team,
        type="flight_delayed",
        severity="high",
        title="DL402 delayed 2 h 40 min at ATL",
        resource="DL402-2013-02-08-ATL",
    ).alert
    alert_acknowledge(alert_id=acked.pk, by=bo, note="On it")
    print(
        f"team={team.pk} open={Alert.objects.filter(team=team).exclude(status='resolved').count()} detail={raised.pk}"
    )


if __name__ == "__main__":
    main()
