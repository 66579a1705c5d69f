from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.utils import timezone

from accounts import demo
from accounts.management.commands.seed_demo import demo_steps
from accounts.models import ShiftAssignment, Team, TeamMembership, User, UserRole
from accounts.selectors import on_call_agents
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_creates_the_demo_and_prints_the_logins(api):
    output = seed()
    assert demo.DEMO_PASSWORD in output
    for email in (demo.ADMIN_EMAIL, *demo.AGENT_EMAILS, demo.CUSTOMER_EMAIL):
        assert email in output
        response = api.post("/api/v1/auth/token", {"email": email, "password": demo.DEMO_PASSWORD}, format="json")
        assert response.status_code == 200, email
    admin = User.objects.get(email=demo.ADMIN_EMAIL)
    assert admin.role == UserRole.ADMIN and admin.is_staff and admin.is_superuser
    assert User.objects.get(email=demo.CUSTOMER_EMAIL).role == UserRole.CUSTOMER
    team = Team.objects.get(slug=demo.DEMO_TEAM_SLUG)
    assert team.timezone == "Europe/London"
    staff = TeamMembership.objects.filter(team=team).exclude(user__role=UserRole.CUSTOMER)
    assert set(staff.values_list("user__email", "role")) == {
        (demo.ADMIN_EMAIL, "owner"),
        (demo.AGENT_EMAILS[0], "agent"),
        (demo.AGENT_EMAILS[1], "agent"),
    }
    assert [a.email for a in on_call_agents(team_id=team.pk)] == list(demo.AGENT_EMAILS)
    # Written through the services: audited as the seed.
    assert AuditEntry.objects.filter(actor_label="seed_demo", action="shift.created").count() == 18


def test_the_demo_password_passes_the_validators():
    for email in (demo.ADMIN_EMAIL, *demo.AGENT_EMAILS, demo.CUSTOMER_EMAIL):
        validate_password(demo.DEMO_PASSWORD, User(email=email))


def test_seed_is_idempotent_and_tops_up_on_call_days_later():
    seed()
    counts = (
        User.objects.count(),
        Team.objects.count(),
        TeamMembership.objects.count(),
        ShiftAssignment.objects.count(),
    )
    seed()
    assert (
        User.objects.count(),
        Team.objects.count(),
        TeamMembership.objects.count(),
        ShiftAssignment.objects.count(),
    ) == counts
    team = Team.objects.get(slug=demo.DEMO_TEAM_SLUG)
    with time_machine.travel(timezone.now() + timedelta(days=30)):
        assert on_call_agents(team_id=team.pk) == []
        seed()
        assert [a.email for a in on_call_agents(team_id=team.pk)] == list(demo.AGENT_EMAILS)


def test_seed_restores_a_demo_user_someone_changed():
    seed()
    User.objects.filter(email=demo.CUSTOMER_EMAIL).update(is_active=False)
    seed()
    assert User.objects.get(email=demo.CUSTOMER_EMAIL).is_active


def test_other_apps_plug_in_with_a_demo_module():
    labels = [label for label, _ in demo_steps()]
    assert labels[0] == "accounts"
    # Steps run in INSTALLED_APPS order, so accounts' objects exist for the apps after it.
    ctx = demo.DemoContext(write=lambda _line: None)
    for _label, step in demo_steps():
        step(ctx)
    assert ctx.objects["team"].slug == demo.DEMO_TEAM_SLUG
