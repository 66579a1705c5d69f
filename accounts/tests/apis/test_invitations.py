from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.models import TeamInvitation, TeamMembership, TeamRole, UserRole
from accounts.services import invitation_create
from accounts.tests.factories import UserFactory, member
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def invite(client, team, email="invitee@example.com", role="agent"):
    return client.post(f"/api/v1/teams/{team.pk}/invitations", {"email": email, "role": role}, format="json")


def test_team_admin_invites_token_shown_once_hash_stored_email_sent(
    client_for, team, team_admin, settings, django_capture_on_commit_callbacks
):
    settings.INVITATION_TTL_DAYS = 3
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(client_for(team_admin), team, email="Invitee@Example.com")
    assert response.status_code == 201, response.json()
    body = response.json()
    token = body["token"]
    assert body["email"] == "invitee@example.com" and body["status"] == "pending"
    assert body["accept_url"].endswith(f"/api/v1/invitations/{token}/accept")
    invitation = TeamInvitation.objects.get(pk=body["id"])
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(TeamInvitation.objects.values().get(pk=invitation.pk))
    assert timedelta(days=3) - (invitation.expires_at - invitation.created_at) == timedelta(0)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["invitee@example.com"] and team.name in message.subject
    assert body["accept_url"] in message.body
    entry = AuditEntry.objects.get(action="invitation.sent")
    assert entry.team_id == team.pk and entry.data["email"] == "invitee@example.com"
    assert token not in str(entry.data)
    # The token is never shown again.
    detail = client_for(team_admin).get(f"/api/v1/teams/{team.pk}/invitations/{invitation.pk}").json()
    assert "token" not in detail and "token_hash" not in detail


def test_invitation_list_and_status_filter(client_for, team, owner):
    client = client_for(owner)
    pending = invite(client, team, email="p@example.com").json()["id"]
    revoked = invite(client, team, email="r@example.com").json()["id"]
    client.delete(f"/api/v1/teams/{team.pk}/invitations/{revoked}")
    listed = client.get(f"/api/v1/teams/{team.pk}/invitations").json()["results"]
    assert [i["id"] for i in listed] == [revoked, pending]
    only_pending = client.get(f"/api/v1/teams/{team.pk}/invitations", {"status": "pending"}).json()["results"]
    assert [i["id"] for i in only_pending] == [pending]
    assert client.get(f"/api/v1/teams/{team.pk}/invitations", {"status": "odd"}).status_code == 400


@pytest.mark.parametrize("who", ["agent", "viewer"])
def test_readers_who_are_not_managers_get_403(client_for, request, team, owner, who):
    invitation, _ = invitation_create(team=team, email="x@example.com", role="agent", by=owner)
    client = client_for(request.getfixturevalue(who))
    assert client.get(f"/api/v1/teams/{team.pk}/invitations").status_code == 403
    assert invite(client, team).status_code == 403
    assert client.delete(f"/api/v1/teams/{team.pk}/invitations/{invitation.pk}").status_code == 403


def test_other_tenants_get_404(client_for, team, owner, outsider, other_team):
    invitation, _ = invitation_create(team=team, email="x@example.com", role="agent", by=owner)
    client = client_for(outsider)
    assert client.get(f"/api/v1/teams/{team.pk}/invitations").status_code == 404
    assert invite(client, team).status_code == 404
    assert client.delete(f"/api/v1/teams/{team.pk}/invitations/{invitation.pk}").status_code == 404
    # Their own team's URL with this team's invitation id: not found either.
    assert client.get(f"/api/v1/teams/{other_team.pk}/invitations/{invitation.pk}").status_code == 404
    assert client.post(f"/api/v1/teams/{other_team.pk}/invitations/{invitation.pk}/revoke").status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_invite_errors(client_for, team, team_admin, agent):
    client = client_for(team_admin)
    member_already = invite(client, team, email=agent.email.upper())
    assert member_already.status_code == 409 and member_already.json()["code"] == "already_member"
    assert invite(client, team, email="not-an-email").status_code == 400
    assert invite(client, team, role="owner").status_code == 403  # only owners grant ownership
    assert not TeamInvitation.objects.exists()


def test_inviting_again_supersedes_the_pending_invitation(client_for, team, owner):
    client = client_for(owner)
    first = invite(client, team).json()
    second = invite(client, team, role="viewer").json()
    assert TeamInvitation.objects.get(pk=first["id"]).revoked_at is not None
    assert TeamInvitation.objects.get(pk=second["id"]).status == "pending"
    assert AuditEntry.objects.get(action="invitation.revoked").data == {
        "email": "invitee@example.com",
        "reason": "superseded",
    }


def test_revoke_by_delete_or_post_is_audited_and_idempotent(client_for, team, owner):
    client = client_for(owner)
    first = invite(client, team, email="a@example.com").json()["id"]
    second = invite(client, team, email="b@example.com").json()["id"]
    deleted = client.delete(f"/api/v1/teams/{team.pk}/invitations/{first}")
    assert deleted.status_code == 200 and deleted.json()["status"] == "revoked"
    posted = client.post(f"/api/v1/teams/{team.pk}/invitations/{second}/revoke")
    assert posted.status_code == 200 and posted.json()["status"] == "revoked"
    assert client.delete(f"/api/v1/teams/{team.pk}/invitations/{first}").status_code == 200
    assert AuditEntry.objects.filter(action="invitation.revoked").count() == 2


def test_accept_creates_the_membership_once(client_for, team, owner):
    invitee = UserFactory(email="invitee@example.com", role=UserRole.AGENT)
    token = invite(client_for(owner), team, role="viewer").json()["token"]
    client = client_for(invitee)
    response = client.post(f"/api/v1/invitations/{token}/accept")
    assert response.status_code == 200, response.json()
    assert response.json()["team_id"] == team.pk and response.json()["role"] == TeamRole.VIEWER
    assert TeamMembership.objects.get(team=team, user=invitee).role == TeamRole.VIEWER
    invitation = TeamInvitation.objects.get()
    assert invitation.accepted_by == invitee and invitation.accepted_at is not None
    accepted = AuditEntry.objects.get(action="invitation.accepted")
    assert accepted.actor_id == invitee.pk and accepted.data["membership_created"] is True
    again = client.post(f"/api/v1/invitations/{token}/accept")
    assert again.status_code == 409 and again.json()["code"] == "invitation_already_used"
    assert TeamMembership.objects.filter(team=team, user=invitee).count() == 1
    assert client_for(owner).delete(f"/api/v1/teams/{team.pk}/invitations/{invitation.pk}").status_code == 409


def test_accepting_makes_a_customer_an_agent(client_for, team, owner):
    customer = UserFactory(email="invitee@example.com", role=UserRole.CUSTOMER)
    token = invite(client_for(owner), team).json()["token"]
    assert client_for(customer).post(f"/api/v1/invitations/{token}/accept").status_code == 200
    customer.refresh_from_db()
    assert customer.role == UserRole.AGENT
    assert AuditEntry.objects.get(action="user.role_changed").data["reason"] == "invitation"
    me = client_for(customer).get("/api/v1/me").json()
    assert "alerts.manage" in me["teams"][0]["capabilities"]


def test_expired_invitation_is_410(client_for, team, owner, settings):
    invitee = UserFactory(email="invitee@example.com")
    token = invite(client_for(owner), team).json()["token"]
    with time_machine.travel(timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS, seconds=1)):
        response = client_for(invitee).post(f"/api/v1/invitations/{token}/accept")
    assert response.status_code == 410
    assert response.json()["code"] == "invitation_expired"
    assert not TeamMembership.objects.filter(user=invitee).exists()


def test_revoked_invitation_is_410(client_for, team, owner):
    invitee = UserFactory(email="invitee@example.com")
    created = invite(client_for(owner), team).json()
    client_for(owner).delete(f"/api/v1/teams/{team.pk}/invitations/{created['id']}")
    response = client_for(invitee).post(f"/api/v1/invitations/{created['token']}/accept")
    assert response.status_code == 410 and response.json()["code"] == "invitation_revoked"


def test_only_the_invited_address_may_accept(client_for, api, team, owner, agent):
    token = invite(client_for(owner), team).json()["token"]
    wrong = client_for(UserFactory(email="someone-else@example.com")).post(f"/api/v1/invitations/{token}/accept")
    assert wrong.status_code == 403 and wrong.json()["code"] == "invitation_email_mismatch"
    assert api.post(f"/api/v1/invitations/{token}/accept").status_code == 401
    unknown = client_for(agent).post("/api/v1/invitations/not-a-real-token/accept")
    assert unknown.status_code == 404 and unknown.json()["code"] == "invitation_not_found"
    assert TeamInvitation.objects.get().status == "pending"


def test_accepting_as_an_existing_member_keeps_their_role(client_for, team, owner):
    # Invited as viewer while already an agent of the team (e.g. added directly after the invitation went out).
    invitee = member(team, team_role=TeamRole.AGENT, email="invitee@example.com")
    invitation, token = invitation_create(team=team, email="pending@example.com", role="viewer", by=owner)
    TeamInvitation.objects.filter(pk=invitation.pk).update(email=invitee.email)
    response = client_for(invitee).post(f"/api/v1/invitations/{token}/accept")
    assert response.status_code == 200 and response.json()["role"] == TeamRole.AGENT
    assert AuditEntry.objects.get(action="invitation.accepted").data["membership_created"] is False
