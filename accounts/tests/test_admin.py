from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import ShiftAssignment, Team, TeamInvitation, TeamMembership, TeamRole, User, UserRole
from accounts.tests.factories import ShiftFactory, UserFactory
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

STRONG = "a-Long-enough-Passphrase-42"


@pytest.fixture
def console(client, platform_admin):
    platform_admin.is_staff = platform_admin.is_superuser = True
    platform_admin.save()
    client.force_login(platform_admin)
    return client


def test_changelists_render_with_filters_and_search(console, team, owner, agent):
    ShiftFactory(team=team, agent=agent)
    pages = [
        (reverse("admin:accounts_user_changelist"), {"role__exact": "agent", "q": "agent"}),
        (reverse("admin:accounts_team_changelist"), {"q": "alpha"}),
        (reverse("admin:accounts_teaminvitation_changelist"), {"status": "pending"}),
        (reverse("admin:accounts_shiftassignment_changelist"), {"now": "yes", "team__id__exact": team.pk}),
        (reverse("admin:accounts_user_change", args=[agent.pk]), {}),
        (reverse("admin:accounts_team_change", args=[team.pk]), {}),
        (reverse("admin:accounts_user_add"), {}),
        (reverse("admin:accounts_teaminvitation_add"), {}),
        (reverse("admin:accounts_shiftassignment_add"), {}),
    ]
    for url, params in pages:
        assert console.get(url, params).status_code == 200, url
    listed = console.get(reverse("admin:accounts_user_changelist"), {"role__exact": "agent"})
    assert agent.email in listed.content.decode() and owner.email in listed.content.decode()


def test_adding_a_user_hashes_the_password_and_is_audited(console, platform_admin):
    response = console.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "New.Agent@Example.com",
            "full_name": "New Agent",
            "role": "agent",
            "usable_password": "true",
            "password1": STRONG,
            "password2": STRONG,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    user = User.objects.get(email="new.agent@example.com")
    assert user.check_password(STRONG) and user.password != STRONG
    assert AuditEntry.objects.get(action="user.created").actor_id == platform_admin.pk


def test_adding_a_user_with_a_weak_password_shows_the_validator_errors(console):
    response = console.post(
        reverse("admin:accounts_user_add"),
        {"email": "x@example.com", "role": "agent", "usable_password": "true", "password1": "123", "password2": "123"},
    )
    assert response.status_code == 200
    assert "password2" in response.context["adminform"].form.errors
    assert not User.objects.filter(email="x@example.com").exists()


def change_user(console, user, **changes):
    data = {
        "email": user.email,
        "full_name": user.full_name,
        "phone": user.phone,
        "role": user.role,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        **changes,
    }
    data = {key: value for key, value in data.items() if value != ""}
    return console.post(reverse("admin:accounts_user_change", args=[user.pk]), data)


def test_console_role_change_goes_through_the_service(console, platform_admin, customer):
    response = change_user(console, customer, role="agent", full_name="Now Staff")
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.role == UserRole.AGENT and customer.full_name == "Now Staff"
    role_change = AuditEntry.objects.get(action="user.role_changed")
    assert role_change.actor_id == platform_admin.pk and role_change.data == {"from": "customer", "to": "agent"}
    assert AuditEntry.objects.filter(action="user.updated").exists()


def test_console_refuses_to_demote_the_last_admin(console, platform_admin):
    platform_admin.refresh_from_db()
    response = change_user(console, platform_admin, role="agent")
    assert response.status_code == 200
    assert "platform admin" in str(response.context["adminform"].form.non_field_errors())
    platform_admin.refresh_from_db()
    assert platform_admin.role == UserRole.ADMIN
    assert not AuditEntry.objects.filter(action="user.role_changed").exists()


def team_form(team=None, **fields):
    data = {
        "name": team.name if team else "",
        "timezone": team.timezone if team else "UTC",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    data.update(fields)
    return data


def test_adding_a_team_with_a_member_inline_is_audited(console, agent):
    response = console.post(
        reverse("admin:accounts_team_add"),
        team_form(
            name="Console Team",
            slug="console-team",
            timezone="Europe/Paris",
            **{
                "memberships-TOTAL_FORMS": "1",
                "memberships-0-user": str(agent.pk),
                "memberships-0-role": "owner",
            },
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    team = Team.objects.get(slug="console-team")
    assert TeamMembership.objects.get(team=team).user == agent
    assert list(AuditEntry.objects.filter(team_id=team.pk).values_list("action", flat=True)) == [
        "team.created",
        "team.member_added",
    ]


def test_console_team_form_errors(console, team, customer):
    duplicate = console.post(reverse("admin:accounts_team_add"), team_form(name="ALPHA TRAVEL", slug="other"))
    assert duplicate.status_code == 200 and "name" in duplicate.context["adminform"].form.errors
    bad_zone = console.post(reverse("admin:accounts_team_add"), team_form(name="Zone", slug="zone", timezone="Nowhere"))
    assert bad_zone.status_code == 200 and "timezone" in bad_zone.context["adminform"].form.errors
    with_customer = console.post(
        reverse("admin:accounts_team_add"),
        team_form(
            name="C",
            slug="c",
            **{"memberships-TOTAL_FORMS": "1", "memberships-0-user": str(customer.pk), "memberships-0-role": "agent"},
        ),
    )
    assert with_customer.status_code == 200
    member_errors = with_customer.context["inline_admin_formsets"][0].formset.errors
    assert "invite a customer" in str(member_errors)
    assert not Team.objects.filter(slug__in=["other", "zone", "c"]).exists()


def test_console_cannot_remove_the_last_owner(console, team, owner):
    membership = TeamMembership.objects.get(team=team, user=owner)
    data = team_form(
        team,
        **{
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-0-id": str(membership.pk),
            "memberships-0-team": str(team.pk),
            "memberships-0-user": str(owner.pk),
            "memberships-0-role": "owner",
            "memberships-0-DELETE": "on",
        },
    )
    response = console.post(reverse("admin:accounts_team_change", args=[team.pk]), data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert "at least one owner" in str(formset.non_form_errors())
    assert TeamMembership.objects.filter(pk=membership.pk).exists()


def test_console_member_role_change_is_audited(console, team, owner, agent):
    rows = list(TeamMembership.objects.filter(team=team).order_by("id"))
    data = team_form(team, **{"memberships-TOTAL_FORMS": str(len(rows)), "memberships-INITIAL_FORMS": str(len(rows))})
    for n, row in enumerate(rows):
        data.update(
            {
                f"memberships-{n}-id": str(row.pk),
                f"memberships-{n}-team": str(team.pk),
                f"memberships-{n}-user": str(row.user_id),
                f"memberships-{n}-role": "viewer" if row.user_id == agent.pk else row.role,
            }
        )
    response = console.post(reverse("admin:accounts_team_change", args=[team.pk]), data)
    assert response.status_code == 302
    assert TeamMembership.objects.get(team=team, user=agent).role == TeamRole.VIEWER
    assert AuditEntry.objects.get(action="team.member_role_changed").data["to"] == "viewer"


def test_console_invitation_shows_the_link_once_and_revokes_through_the_service(
    console, team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(
            reverse("admin:accounts_teaminvitation_add"),
            {"team": str(team.pk), "email": "Guest@Example.com", "role": "agent"},
            follow=True,
        )
    assert response.status_code == 200
    invitation = TeamInvitation.objects.get()
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("/api/v1/invitations/" in m for m in shown)
    assert len(mail.outbox) == 1 and invitation.email == "guest@example.com"
    response = console.post(
        reverse("admin:accounts_teaminvitation_changelist"),
        {"action": "revoke_selected", "_selected_action": [str(invitation.pk)]},
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert AuditEntry.objects.filter(action__in=["invitation.sent", "invitation.revoked"]).count() == 2
    # History is kept: no deleting invitations in the console.
    assert console.get(reverse("admin:accounts_teaminvitation_delete", args=[invitation.pk])).status_code == 403


def test_console_shifts_are_validated_and_audited(console, team, agent, viewer):
    start = timezone.localtime(timezone.now() + timedelta(days=1))
    end = start + timedelta(hours=8)

    def post(agent_id):
        return console.post(
            reverse("admin:accounts_shiftassignment_add"),
            {
                "team": str(team.pk),
                "agent": str(agent_id),
                "starts_at_0": start.strftime("%Y-%m-%d"),
                "starts_at_1": start.strftime("%H:%M:%S"),
                "ends_at_0": end.strftime("%Y-%m-%d"),
                "ends_at_1": end.strftime("%H:%M:%S"),
                "priority": "1",
            },
        )

    refused = post(viewer.pk)
    assert refused.status_code == 200
    assert "staff member" in str(refused.context["adminform"].form.non_field_errors())
    assert post(agent.pk).status_code == 302
    shift = ShiftAssignment.objects.get()
    assert AuditEntry.objects.get(action="shift.created").target_id == str(shift.pk)
    response = console.post(reverse("admin:accounts_shiftassignment_delete", args=[shift.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not ShiftAssignment.objects.exists()
    assert AuditEntry.objects.filter(action="shift.deleted").count() == 1


def test_console_bulk_delete_of_shifts_is_audited(console, team, agent):
    shifts = [ShiftFactory(team=team, agent=agent) for _ in range(2)]
    response = console.post(
        reverse("admin:accounts_shiftassignment_changelist"),
        {"action": "delete_selected", "_selected_action": [str(s.pk) for s in shifts], "post": "yes"},
    )
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="shift.deleted").count() == 2


def test_non_staff_cannot_open_the_console(client):
    user = UserFactory(role=UserRole.AGENT)
    client.force_login(user)
    response = client.get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]
