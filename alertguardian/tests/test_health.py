from __future__ import annotations

import pytest
from django.db import connections

from alertguardian import health

pytestmark = pytest.mark.django_db


def test_health_is_always_ok(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_checks_the_database(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/ready/")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


@pytest.mark.redis
def test_ready_checks_redis_when_configured(client):
    response = client.get("/ready/")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_ready_is_503_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/ready/")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "not_ready"
    assert body["details"]["database"] == "ok"
    assert body["details"]["redis"].startswith("error:")


@pytest.fixture
def unreachable_database(monkeypatch):
    """A real connection to a database that is not there: PostgreSQL on a closed port, or a
    SQLite file in a directory that does not exist."""
    bad = connections.create_connection("default")
    settings_dict = dict(bad.settings_dict)
    if bad.vendor == "postgresql":
        settings_dict.update(
            HOST="127.0.0.1", PORT="1", OPTIONS={**settings_dict.get("OPTIONS", {}), "connect_timeout": 2}
        )
    else:
        settings_dict.update(NAME="/nonexistent-directory/ag.sqlite3", OPTIONS={})
    bad.settings_dict = settings_dict
    monkeypatch.setattr(health, "connection", bad)
    yield
    bad.close()


def test_ready_is_503_when_the_database_is_unreachable(client, settings, unreachable_database):
    settings.REDIS_URL = ""
    response = client.get("/ready/")
    assert response.status_code == 503
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == "not_ready"
    assert body["details"]["database"] == "error: OperationalError"
