from __future__ import annotations

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User, UserRole
from accounts.tests.factories import UserFactory
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

STRONG = "a-Long-enough-Passphrase-42"


def test_admin_lists_and_filters_users(client_for, platform_admin, agent, customer):
    client = client_for(platform_admin)
    body = client.get("/api/v1/users").json()
    assert {u["email"] for u in body["results"]} == {platform_admin.email, agent.email, customer.email}
    assert set(body) == {"next", "previous", "results"}
    only_customers = client.get("/api/v1/users", {"role": "customer"}).json()["results"]
    assert [u["email"] for u in only_customers] == [customer.email]
    found = client.get("/api/v1/users", {"search": "AGENT@"}).json()["results"]
    assert [u["email"] for u in found] == [agent.email]
    User.objects.filter(pk=agent.pk).update(is_active=False)
    inactive = client.get("/api/v1/users", {"is_active": "false"}).json()["results"]
    assert [u["email"] for u in inactive] == [agent.email]
    assert client.get("/api/v1/users", {"role": "pilot"}).status_code == 400


def test_user_list_pages_with_a_cursor(client_for, platform_admin):
    UserFactory.create_batch(3)
    client = client_for(platform_admin)
    first = client.get("/api/v1/users", {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 2
    assert not {u["id"] for u in first["results"]} & {u["id"] for u in second["results"]}


@pytest.mark.parametrize("who", ["agent", "customer", "owner"])
def test_non_admins_cannot_touch_users(client_for, request, who, platform_admin):
    client = client_for(request.getfixturevalue(who))
    assert client.get("/api/v1/users").status_code == 403
    assert client.get(f"/api/v1/users/{platform_admin.pk}").status_code == 403
    assert client.get("/api/v1/users/999999").status_code == 403  # no probing: 403 before lookup
    created = client.post(
        "/api/v1/users", {"email": "x@example.com", "password": STRONG, "role": "admin"}, format="json"
    )
    assert created.status_code == 403
    assert created.json()["code"] == "forbidden"
    assert client.patch(f"/api/v1/users/{platform_admin.pk}", {"role": "customer"}, format="json").status_code == 403
    assert not User.objects.filter(email="x@example.com").exists()


def test_anonymous_gets_401(api):
    assert api.get("/api/v1/users").status_code == 401


@pytest.mark.parametrize("role", [UserRole.AGENT, UserRole.ADMIN, UserRole.CUSTOMER])
def test_admin_creates_users_of_any_role(client_for, platform_admin, role):
    response = client_for(platform_admin).post(
        "/api/v1/users",
        {"email": f"{role}@Example.com", "password": STRONG, "role": role, "full_name": "Pat"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    user = User.objects.get(email=f"{role}@example.com")
    assert user.role == role and user.check_password(STRONG)
    assert user.is_staff == user.is_superuser == (role == UserRole.ADMIN)
    entry = AuditEntry.objects.get(action="user.created")
    assert entry.actor_id == platform_admin.pk and entry.data == {"email": user.email, "role": role}


def test_create_user_errors(client_for, platform_admin, agent):
    client = client_for(platform_admin)
    weak = client.post("/api/v1/users", {"email": "w@example.com", "password": "short", "role": "agent"}, format="json")
    assert weak.status_code == 400 and weak.json()["code"] == "weak_password"
    taken = client.post("/api/v1/users", {"email": agent.email, "password": STRONG, "role": "agent"}, format="json")
    assert taken.status_code == 409 and taken.json()["code"] == "email_taken"
    bad_role = client.post("/api/v1/users", {"email": "r@example.com", "password": STRONG, "role": "x"}, format="json")
    assert bad_role.status_code == 400 and "role" in bad_role.json()["details"]


def test_admin_retrieves_a_user_and_404_for_unknown(client_for, platform_admin, agent):
    client = client_for(platform_admin)
    body = client.get(f"/api/v1/users/{agent.pk}").json()
    assert body["email"] == agent.email and body["role"] == UserRole.AGENT
    assert "password" not in body
    missing = client.get("/api/v1/users/999999")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_role_change_is_audited_and_sets_console_access(client_for, platform_admin, customer):
    client = client_for(platform_admin)
    response = client.patch(f"/api/v1/users/{customer.pk}", {"role": "admin", "full_name": "Promoted"}, format="json")
    assert response.status_code == 200, response.json()
    customer.refresh_from_db()
    assert customer.role == UserRole.ADMIN and customer.is_staff and customer.is_superuser
    assert customer.full_name == "Promoted"
    role_entry = AuditEntry.objects.get(action="user.role_changed")
    assert role_entry.data == {"from": "customer", "to": "admin"} and role_entry.actor_id == platform_admin.pk
    assert AuditEntry.objects.get(action="user.updated").data["changes"]["full_name"]["to"] == "Promoted"
    back = client.patch(f"/api/v1/users/{customer.pk}", {"role": "agent"}, format="json")
    assert back.status_code == 200
    customer.refresh_from_db()
    assert not customer.is_staff and not customer.is_superuser


def test_patch_refuses_unknown_and_read_only_fields(client_for, platform_admin, agent):
    response = client_for(platform_admin).patch(f"/api/v1/users/{agent.pk}", {"is_superuser": True}, format="json")
    assert response.status_code == 400
    assert response.json()["details"] == {"is_superuser": ["Unknown field."]}


def test_deactivation_ends_sessions(client_for, api, platform_admin, agent):
    refresh = RefreshToken.for_user(agent)
    response = client_for(platform_admin).patch(f"/api/v1/users/{agent.pk}", {"is_active": False}, format="json")
    assert response.status_code == 200
    assert BlacklistedToken.objects.filter(token__user=agent).count() == 1
    assert api.post("/api/v1/auth/token/refresh", {"refresh": str(refresh)}, format="json").status_code == 401
    assert AuditEntry.objects.get(action="user.deactivated").data == {"sessions_ended": 1}
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {refresh.access_token}").status_code == 401


def test_last_platform_admin_cannot_be_demoted_or_deactivated(client_for, platform_admin):
    client = client_for(platform_admin)
    for change in ({"role": "agent"}, {"is_active": False}):
        response = client.patch(f"/api/v1/users/{platform_admin.pk}", change, format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "last_platform_admin"
    second = UserFactory(role=UserRole.ADMIN)
    assert client.patch(f"/api/v1/users/{second.pk}", {"role": "agent"}, format="json").status_code == 200


def test_team_member_cannot_become_a_customer(client_for, platform_admin, agent, team):
    response = client_for(platform_admin).patch(f"/api/v1/users/{agent.pk}", {"role": "customer"}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "code": "user_has_memberships",
        "message": "Remove this user from their teams before making them a customer.",
        "details": {"team_ids": [team.pk]},
    }
    agent.refresh_from_db()
    assert agent.role == UserRole.AGENT
