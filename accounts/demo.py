"""Demo data for ``manage.py seed_demo``: the accounts part (users, the demo team, on-call).

``seed_demo`` runs the ``seed_demo(ctx)`` function of every installed app's ``demo`` module,
in ``INSTALLED_APPS`` order (accounts before alerts, escalation, fallbacks), each in its own
transaction. Every step must be idempotent: the command runs at every ``make run``. Later
steps find what earlier ones made in ``ctx.objects`` (here: ``"team"``, ``"admin"``,
``"agents"``, ``"customer"``) and add their logins or notes for the summary.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone

from accounts import services
from accounts.models import ShiftAssignment, Team, TeamMembership, TeamRole, User, UserRole
from audit.services import AuditActor

# One password for every demo login; it passes the project's password validators.
DEMO_PASSWORD = "Guardian-Demo-2026!"  # noqa: S105 (documented demo credential)
DEMO_TEAM_NAME = "Demo Travel"
DEMO_TEAM_SLUG = "demo-travel"
DEMO_TEAM_TIMEZONE = "Europe/London"
ADMIN_EMAIL = "admin@demo.travel"
AGENT_EMAILS = ("agent1@demo.travel", "agent2@demo.travel")
CUSTOMER_EMAIL = "customer@demo.travel"
# Daily on-call from yesterday until a week ahead, so "now" is always covered after a seed.
SHIFT_DAYS_BEFORE = 1
SHIFT_DAYS_AHEAD = 7

SEED_ACTOR = AuditActor(label="seed_demo")


@dataclass
class DemoContext:
    write: Callable[[str], None]
    now: datetime = field(default_factory=timezone.now)
    password: str = DEMO_PASSWORD
    logins: list[tuple[str, str]] = field(default_factory=list)  # (email, what it is for)
    notes: list[str] = field(default_factory=list)
    objects: dict[str, Any] = field(default_factory=dict)


def _ensure_user(ctx: DemoContext, *, email: str, role: str, full_name: str) -> User:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = services.user_create(by=SEED_ACTOR, email=email, password=ctx.password, role=role, full_name=full_name)
        ctx.write(f"  created {role} {email}")
    elif user.role != role or not user.is_active:
        user = services.user_update(user=user, by=SEED_ACTOR, role=role, is_active=True)
        ctx.write(f"  restored {email} as an active {role}")
    return user


def _ensure_member(team: Team, user: User, role: str) -> None:
    if not TeamMembership.objects.filter(team=team, user=user).exists():
        services.membership_add(team=team, user=user, role=role, by=SEED_ACTOR)


def _ensure_daily_shifts(ctx: DemoContext, team: Team, agents: list[User]) -> int:
    """A full local day per agent per day; the first agent is primary (priority 1)."""
    zone = zoneinfo.ZoneInfo(team.timezone)
    today = timezone.localtime(ctx.now, zone).date()
    created = 0
    for offset in range(-SHIFT_DAYS_BEFORE, SHIFT_DAYS_AHEAD + 1):
        day = today + timedelta(days=offset)
        starts_at = datetime.combine(day, time.min, tzinfo=zone)
        ends_at = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
        for priority, agent in enumerate(agents, start=1):
            if ShiftAssignment.objects.filter(team=team, agent=agent, starts_at=starts_at).exists():
                continue
            services.shift_create(
                team=team, agent=agent, starts_at=starts_at, ends_at=ends_at, priority=priority, by=SEED_ACTOR
            )
            created += 1
    return created


def seed_demo(ctx: DemoContext) -> None:
    ctx.write("accounts: users, the demo team and its on-call shifts")
    admin = _ensure_user(ctx, email=ADMIN_EMAIL, role=UserRole.ADMIN, full_name="Demo Admin")
    if not (admin.is_staff and admin.is_superuser):
        admin.is_staff = admin.is_superuser = True
        admin.save(update_fields=["is_staff", "is_superuser"])  # console access only, not audited data
    agents = [
        _ensure_user(ctx, email=email, role=UserRole.AGENT, full_name=f"Demo Agent {n}")
        for n, email in enumerate(AGENT_EMAILS, start=1)
    ]
    customer = _ensure_user(ctx, email=CUSTOMER_EMAIL, role=UserRole.CUSTOMER, full_name="Demo Customer")

    team = Team.objects.filter(slug=DEMO_TEAM_SLUG).first()
    if team is None:
        team = services.team_create(
            name=DEMO_TEAM_NAME, slug=DEMO_TEAM_SLUG, timezone_name=DEMO_TEAM_TIMEZONE, by=SEED_ACTOR
        )
        ctx.write(f"  created team {team.name} ({team.timezone})")
    _ensure_member(team, admin, TeamRole.OWNER)
    for agent in agents:
        _ensure_member(team, agent, TeamRole.AGENT)
    created = _ensure_daily_shifts(ctx, team, agents)
    ctx.write(f"  on-call shifts: {created} added (daily, {SHIFT_DAYS_AHEAD} days ahead)")

    ctx.objects.update({"team": team, "admin": admin, "agents": agents, "customer": customer})
    ctx.logins += [
        (ADMIN_EMAIL, "platform admin, owner of Demo Travel, /admin/ console"),
        (AGENT_EMAILS[0], "agent, on call (primary)"),
        (AGENT_EMAILS[1], "agent, on call (backup)"),
        (CUSTOMER_EMAIL, "customer"),
    ]
