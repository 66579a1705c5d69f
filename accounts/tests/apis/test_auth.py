from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import TeamInvitation, TeamMembership, TeamRole, User, UserRole
from accounts.services import invitation_create, invitation_revoke
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

STRONG = "a-Long-enough-Passphrase-42"


def register(api, **payload):
    body = {"email": "new@example.com", "password": STRONG, "full_name": "New Person", **payload}
    return api.post("/api/v1/auth/register", body, format="json")


def login(api, email, password, ip="10.0.0.1"):
    return api.post("/api/v1/auth/token", {"email": email, "password": password}, format="json", REMOTE_ADDR=ip)


# --- Registration -------------------------------------------------------------------------


def test_register_creates_a_customer_and_audits_it(api):
    response = register(api, email="New@Example.com", role="customer")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["email"] == "new@example.com"
    assert body["role"] == UserRole.CUSTOMER
    assert body["teams"] == []
    user = User.objects.get(email="new@example.com")
    assert user.check_password(STRONG)
    assert not user.is_staff and not user.is_superuser
    entry = AuditEntry.objects.get(action="account.registered")
    assert entry.target_id == str(user.pk) and entry.data == {"email": "new@example.com"}
    assert STRONG not in str(entry.data)


@pytest.mark.parametrize("role", [UserRole.AGENT, UserRole.ADMIN, "superuser"])
def test_register_refuses_any_other_role(api, role):
    response = register(api, role=role)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "role_not_allowed"
    assert "role" in body["details"]
    assert not User.objects.exists()
    assert not AuditEntry.objects.exists()


def test_register_refuses_console_flags(api):
    response = register(api, is_staff=True, is_superuser=True)
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"is_staff", "is_superuser"}
    assert not User.objects.exists()


def test_register_validates_the_password_with_django_validators(api):
    response = register(api, password="12345678")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "weak_password"
    assert any("common" in reason for reason in body["details"]["password"])
    assert any("numeric" in reason for reason in body["details"]["password"])
    assert not User.objects.exists()


def test_register_wrong_types_are_400(api):
    response = api.post("/api/v1/auth/register", {"email": ["x"], "password": {"a": 1}}, format="json")
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"email", "password"}


def test_register_duplicate_email_is_409_whatever_the_case(api):
    UserFactory(email="taken@example.com")
    response = register(api, email="TAKEN@example.com")
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


def test_invitation_before_registration_joins_the_teams(api, team, other_team, owner, outsider):
    invitation, _ = invitation_create(team=team, email="new@example.com", role=TeamRole.AGENT, by=owner)
    second, _ = invitation_create(team=other_team, email="NEW@example.com", role=TeamRole.VIEWER, by=outsider)
    response = register(api)
    assert response.status_code == 201, response.json()
    user = User.objects.get(email="new@example.com")
    # Team roles mean nothing to customers, so accepting an invitation makes the person staff.
    assert user.role == UserRole.AGENT
    assert {(t["id"], t["role"]) for t in response.json()["teams"]} == {
        (team.pk, TeamRole.AGENT),
        (other_team.pk, TeamRole.VIEWER),
    }
    for inv in (invitation, second):
        inv.refresh_from_db()
        assert inv.accepted_by == user and inv.accepted_at is not None
    actions = list(AuditEntry.objects.filter(actor_id=user.pk).values_list("action", flat=True))
    assert actions == [
        "account.registered",
        "user.role_changed",
        "team.member_added",
        "invitation.accepted",
        "team.member_added",
        "invitation.accepted",
    ]


def test_registration_ignores_expired_and_revoked_invitations(api, team, owner):
    expired, _ = invitation_create(team=team, email="new@example.com", role=TeamRole.AGENT, by=owner)
    TeamInvitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked, _ = invitation_create(team=team, email="new@example.com", role=TeamRole.ADMIN, by=owner)
    invitation_revoke(invitation=revoked, by=owner)
    response = register(api)
    assert response.status_code == 201
    user = User.objects.get(email="new@example.com")
    assert user.role == UserRole.CUSTOMER
    assert not TeamMembership.objects.filter(user=user).exists()
    assert not TeamInvitation.objects.filter(accepted_at__isnull=False).exists()


def test_registration_is_rate_limited_per_address(api, settings):
    settings.REGISTRATION_RATE = "2/hour"
    assert register(api, email="a@example.com").status_code == 201
    assert register(api, email="b@example.com").status_code == 201
    response = register(api, email="c@example.com")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    assert not User.objects.filter(email="c@example.com").exists()


# --- Sign-in and lockout ------------------------------------------------------------------


def test_login_returns_tokens_that_authenticate_and_is_audited(api, agent):
    response = login(api, "AGENT@example.com", DEFAULT_PASSWORD)
    assert response.status_code == 200, response.json()
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}
    me = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert me.status_code == 200 and me.json()["email"] == agent.email
    entry = AuditEntry.objects.get(action="auth.login_succeeded")
    assert entry.actor_id == agent.pk
    assert entry.data == {"email": "agent@example.com", "ip": "10.0.0.1"}
    assert entry.ip_address == "10.0.0.1"
    agent.refresh_from_db()
    assert agent.last_login is not None


def test_wrong_password_is_401_and_audited_without_the_password(api, agent):
    response = login(api, agent.email, "not-the-password")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    entry = AuditEntry.objects.get(action="auth.login_failed")
    assert entry.data == {"email": agent.email, "ip": "10.0.0.1", "reason": "invalid_credentials"}
    assert entry.target_id == str(agent.pk)
    assert "not-the-password" not in str(entry.data)


def test_unknown_email_fails_like_a_wrong_password(api):
    response = login(api, "nobody@example.com", "whatever")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert AuditEntry.objects.get(action="auth.login_failed").target_id == ""


def test_inactive_account_cannot_sign_in(api, agent):
    User.objects.filter(pk=agent.pk).update(is_active=False)
    assert login(api, agent.email, DEFAULT_PASSWORD).status_code == 401


def test_account_locks_after_the_limit_even_with_the_right_password(api, agent, settings):
    limit = settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for n in range(limit):
            # Different addresses: this is the per-account lock, not the per-IP one.
            assert login(api, agent.email, "wrong", ip=f"10.0.1.{n}").status_code == 401
        locked = login(api, agent.email, DEFAULT_PASSWORD, ip="10.0.2.1")
        assert locked.status_code == 429
        body = locked.json()
        assert set(body) == {"code", "message", "details"}
        assert body["code"] == "login_throttled"
        retry_after = int(locked["Retry-After"])
        assert 0 < retry_after <= settings.LOGIN_FAILURE_WINDOW_SECONDS
        # Other accounts are not affected.
        other = UserFactory(email="other@example.com")
        assert login(api, other.email, DEFAULT_PASSWORD, ip="10.0.2.1").status_code == 200
        clock.shift(timedelta(seconds=retry_after - 1))
        assert login(api, agent.email, DEFAULT_PASSWORD, ip="10.0.2.2").status_code == 429
        clock.shift(timedelta(seconds=1))
        assert login(api, agent.email, DEFAULT_PASSWORD, ip="10.0.2.2").status_code == 200
    failures = AuditEntry.objects.filter(action="auth.login_failed")
    assert failures.filter(data__reason="invalid_credentials").count() == limit
    # A locked account is audited once per lock, not once per refused request.
    assert failures.filter(data__reason="locked").count() == 1


def test_address_locks_after_its_limit_across_accounts(api, settings):
    limit = settings.LOGIN_FAILURE_LIMIT_PER_IP
    victim = UserFactory(email="victim@example.com")
    for n in range(limit):
        assert login(api, f"guess{n}@example.com", "wrong", ip="192.0.2.7").status_code == 401
    refused = login(api, victim.email, DEFAULT_PASSWORD, ip="192.0.2.7")
    assert refused.status_code == 429
    assert refused.json()["code"] == "login_throttled"
    assert "Retry-After" in refused
    # A spoofed X-Forwarded-For does not get around it (no proxies are trusted by default).
    spoofed = api.post(
        "/api/v1/auth/token",
        {"email": victim.email, "password": DEFAULT_PASSWORD},
        format="json",
        REMOTE_ADDR="192.0.2.7",
        HTTP_X_FORWARDED_FOR="198.51.100.1",
    )
    assert spoofed.status_code == 429
    assert login(api, victim.email, DEFAULT_PASSWORD, ip="192.0.2.8").status_code == 200


def test_success_forgets_the_accounts_failures(api, agent, settings):
    limit = settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT
    for _ in range(limit - 1):
        login(api, agent.email, "wrong")
    assert login(api, agent.email, DEFAULT_PASSWORD).status_code == 200
    for _ in range(limit - 1):
        assert login(api, agent.email, "wrong").status_code == 401
    assert login(api, agent.email, DEFAULT_PASSWORD).status_code == 200


def test_login_bad_shapes_are_400(api):
    assert api.post("/api/v1/auth/token", {"email": "x@example.com"}, format="json").status_code == 400
    response = api.post("/api/v1/auth/token", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"


# --- Tokens: rotation and logout ----------------------------------------------------------


def test_refresh_rotates_and_the_old_refresh_token_is_refused(api, agent):
    first = login(api, agent.email, DEFAULT_PASSWORD).json()
    rotated = api.post("/api/v1/auth/token/refresh", {"refresh": first["refresh"]}, format="json")
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh"] != first["refresh"]
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {second['access']}").status_code == 200
    reused = api.post("/api/v1/auth/token/refresh", {"refresh": first["refresh"]}, format="json")
    assert reused.status_code == 401
    assert reused.json()["code"] == "token_not_valid"
    assert api.post("/api/v1/auth/token/refresh", {"refresh": second["refresh"]}, format="json").status_code == 200


def test_refresh_refuses_garbage_and_expired_tokens(api, agent, settings):
    assert api.post("/api/v1/auth/token/refresh", {"refresh": "garbage"}, format="json").status_code == 401
    tokens = login(api, agent.email, DEFAULT_PASSWORD).json()
    lifetime = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    with time_machine.travel(timezone.now() + lifetime + timedelta(seconds=5)):
        response = api.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 401


def test_refresh_for_a_deactivated_account_is_refused(api, agent):
    tokens = login(api, agent.email, DEFAULT_PASSWORD).json()
    User.objects.filter(pk=agent.pk).update(is_active=False)
    assert api.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_logout_blacklists_the_refresh_token(api, agent):
    tokens = login(api, agent.email, DEFAULT_PASSWORD).json()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access']}"}
    response = api.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json", **auth)
    assert response.status_code == 204
    assert api.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json").status_code == 401
    again = api.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json", **auth)
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_token"
    assert AuditEntry.objects.filter(action="auth.logged_out", actor_id=agent.pk).count() == 1


def test_logout_with_a_bad_token_is_400(api):
    response = api.post("/api/v1/auth/logout", {"refresh": "not-a-token"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"


def test_logout_works_after_the_access_token_expired(api, agent, settings):
    tokens = login(api, agent.email, DEFAULT_PASSWORD).json()
    expired_access = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access']}"}
    later = timezone.now() + settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + timedelta(minutes=1)
    with time_machine.travel(later):
        response = api.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json", **expired_access)
    assert response.status_code == 204


# --- Me ------------------------------------------------------------------------------------


def test_me_lists_teams_roles_and_capabilities(client_for, team, owner, viewer, other_team):
    body = client_for(viewer).get("/api/v1/me").json()
    assert body["role"] == UserRole.AGENT
    assert body["capabilities"] == []
    assert body["teams"] == [
        {
            "id": team.pk,
            "name": team.name,
            "slug": team.slug,
            "timezone": "Europe/London",
            "role": TeamRole.VIEWER,
            "capabilities": ["alerts.read"],
        }
    ]
    owner_caps = client_for(owner).get("/api/v1/me").json()["teams"][0]["capabilities"]
    assert "team.manage" in owner_caps and "team.ownership" in owner_caps


def test_me_for_a_platform_admin_lists_platform_capabilities(client_for, platform_admin):
    body = client_for(platform_admin).get("/api/v1/me").json()
    assert {"users.manage", "teams.create", "team.manage"} <= set(body["capabilities"])


def test_me_needs_authentication(api):
    response = api.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
