from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.settings import api_settings

from accounts import throttling


@pytest.fixture
def trust_proxies(settings):
    def set_proxies(count):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}
        api_settings.reload()

    yield set_proxies
    api_settings.reload()


def request_from(remote, forwarded=None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return RequestFactory().post("/", REMOTE_ADDR=remote, **headers)


def test_client_ip_ignores_forwarded_for_unless_proxies_are_trusted(trust_proxies):
    assert throttling.client_ip(request_from("10.0.0.1", "203.0.113.9")) == "10.0.0.1"
    trust_proxies(1)
    assert throttling.client_ip(request_from("10.0.0.1", "198.51.100.2, 203.0.113.9")) == "203.0.113.9"
    trust_proxies(2)
    assert throttling.client_ip(request_from("10.0.0.1", "198.51.100.2, 203.0.113.9")) == "198.51.100.2"
    # Garbage in the header falls back to the socket address.
    assert throttling.client_ip(request_from("10.0.0.1", "not-an-ip")) == "10.0.0.1"
    assert throttling.client_ip(request_from("::1")) == "::1"


def test_lock_per_account_opens_after_the_window(settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 3
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 600
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(2):
            throttling.login_failure_record(email="A@example.com", ip="10.0.0.1")
        assert throttling.login_lock(email="a@example.com", ip="10.0.0.2") is None
        clock.shift(timedelta(seconds=100))
        throttling.login_failure_record(email="a@example.com", ip="10.0.0.1")
        lock = throttling.login_lock(email="a@example.com", ip="10.0.0.2")
        assert lock == throttling.LoginLock(scope="account", retry_after=500)
        clock.shift(timedelta(seconds=500))
        assert throttling.login_lock(email="a@example.com", ip="10.0.0.2") is None
        # A fresh window starts from the next failure.
        throttling.login_failure_record(email="a@example.com", ip="10.0.0.1")
        assert throttling.login_lock(email="a@example.com", ip="10.0.0.2") is None


def test_lock_per_address_and_clearing_only_forgets_the_account(settings):
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 2
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 2
    throttling.login_failure_record(email="a@example.com", ip="10.0.0.1")
    throttling.login_failure_record(email="b@example.com", ip="10.0.0.1")
    lock = throttling.login_lock(email="c@example.com", ip="10.0.0.1")
    assert lock is not None and lock.scope == "ip"
    throttling.login_failure_record(email="a@example.com", ip="10.0.0.9")
    throttling.login_failures_clear(email="a@example.com")
    assert throttling.login_lock(email="a@example.com", ip="10.0.0.9") is None
    assert throttling.login_lock(email="z@example.com", ip="10.0.0.1") is not None


def test_lock_notice_is_given_once_per_lock(settings):
    lock = throttling.LoginLock(scope="account", retry_after=60)
    assert throttling.lock_notice_first(lock=lock, email="a@example.com", ip=None)
    assert not throttling.lock_notice_first(lock=lock, email="a@example.com", ip=None)
    assert throttling.lock_notice_first(lock=lock, email="b@example.com", ip=None)


@pytest.mark.redis
def test_counters_are_shared_through_redis(settings):
    """With REDIS_URL the cache is Redis: another process (a fresh cache client) sees the lock."""
    from django.core.cache.backends.redis import RedisCache

    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 1
    throttling.login_failure_record(email="shared@example.com", ip="10.0.0.1")
    other_process = RedisCache(settings.REDIS_URL, {})
    base = throttling._base_key(throttling.ACCOUNT_SCOPE, "shared@example.com")
    assert other_process.get(f"{base}:count") == 1
