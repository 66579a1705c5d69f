"""What the chaos test (and the escalation bench) run inside real processes.

Invoked as ``python -m escalation.tests.chaos_driver <command> [args]`` with
``DATABASE_URL``/``REDIS_URL`` pointing at the scratch database and Redis of the run.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta

import django


def seed(windows: tuple[int, int, int] = (2, 2, 1)) -> None:
    """A team with two agents on duty and a team admin, and a 3-step default policy."""
    from django.utils import timezone

    from accounts.models import ShiftAssignment, Team, TeamMembership, TeamRole, User, UserRole
    from escalation.models import EscalationPolicy, EscalationStep

    now = timezone.now()
    team = Team.objects.create(name="Chaos Travel", slug="chaos")
    agents = []
    for n, role in enumerate((TeamRole.AGENT, TeamRole.AGENT, TeamRole.ADMIN), start=1):
        user = User.objects.create_user(email=f"chaos{n}@example.com", password="chaos-password-1", role=UserRole.AGENT)
        TeamMembership.objects.create(team=team, user=user, role=role)
        agents.append(user)
    for priority, agent in enumerate(agents[:2], start=1):
        ShiftAssignment.objects.create(
            team=team,
            agent=agent,
            priority=priority,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=1),
        )
    policy = EscalationPolicy.objects.create(team=team, name="chaos", is_default=True)
    steps = [
        {"kind": "notify_on_duty", "ack_window_seconds": windows[0]},
        {"kind": "notify_role", "target_role": TeamRole.ADMIN, "ack_window_seconds": windows[1]},
        {"kind": "notify_on_duty", "ack_window_seconds": windows[2]},
    ]
    for position, step in enumerate(steps):
        EscalationStep.objects.create(policy=policy, position=position, **step)
    print(team.pk)


def raise_alerts(count: int, spread_seconds: float) -> None:
    """Raise ``count`` distinct alerts through the real service, spread over ``spread_seconds``."""
    from accounts.models import Team
    from alerts.services import alert_raise

    team = Team.objects.get(slug="chaos")
    pause = spread_seconds / max(count, 1)
    for n in range(count):
        alert_raise(
            team=team,
            type="flight_cancelled",
            severity="critical",
            title=f"Chaos alert {n}",
            dedup_key=f"chaos-{n}",
        )
        time.sleep(pause)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertguardian.settings")
    django.setup()
    command, *args = sys.argv[1:]
    if command == "seed":
        seed(tuple(int(arg) for arg in args) if args else (2, 2, 1))  # type: ignore[arg-type]
    elif command == "raise":
        raise_alerts(int(args[0]), float(args[1]))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
