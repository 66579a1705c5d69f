"""Project-wide API behaviour: docs, the one error body, size limits, authentication errors."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "message", "details"}


def test_api_docs_and_schema_are_served(client):
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert "/api/v1/auth/token" in paths and "/api/v1/teams/{team_id}/on-call" in paths


def test_malformed_json_is_400_with_the_standard_body(client):
    response = client.post("/api/v1/auth/token", data="{not: json", content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS and body["code"] == "malformed_request"


def test_wrong_types_are_400_with_field_details(client):
    response = client.post(
        "/api/v1/auth/token", data={"email": {"nested": True}, "password": 12}, content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS and body["code"] == "invalid"
    assert "email" in body["details"]


def test_unsupported_media_type_is_415(client):
    response = client.post("/api/v1/auth/token", data="email=a", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_oversized_body_is_413_before_parsing(client, settings):
    payload = json.dumps({"email": "a@example.com", "password": "x" * (settings.MAX_REQUEST_BODY_BYTES + 1)})
    response = client.post("/api/v1/auth/register", data=payload, content_type="application/json")
    assert response.status_code == 413
    body = response.json()
    assert set(body) == ERROR_KEYS and body["code"] == "payload_too_large"


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v2/teams", "/api/v1/teams/abc"])
def test_unknown_urls_under_api_are_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"code": "not_found", "message": "Not found.", "details": {}}


def test_wrong_method_is_405_with_the_standard_body(client):
    response = client.get("/api/v1/auth/token")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_a_bad_jwt_is_401_with_the_standard_body(client):
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer not.a.jwt")
    assert response.status_code == 401
    body = response.json()
    assert set(body) == ERROR_KEYS and body["code"] == "token_not_valid"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_jwt_is_401(client, settings):
    token = AccessToken.for_user(UserFactory())
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    with time_machine.travel(timezone.now() + lifetime + timedelta(seconds=1)):
        response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert set(response.json()) == ERROR_KEYS


def test_no_credentials_is_401(client):
    response = client.get("/api/v1/teams")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
