"""Suite-wide fixtures and the service gates.

Tests marked ``postgres`` / ``redis`` / ``browser`` need a real server or browser.
Without one they are skipped with a reason (and the summary says how many); with
``REQUIRE_SERVICES=1`` (CI) a missing service fails the test instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _redis_reachable() -> bool:
    if not settings.REDIS_URL:
        return False
    try:
        import redis

        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping()
        return True
    except Exception:
        return False


def _service_missing(marker: str) -> str | None:
    if marker == "postgres":
        if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
            return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    elif marker == "redis":
        if not _redis_reachable():
            return "needs Redis: set REDIS_URL=redis://... to a running server"
    elif marker == "browser" and not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
        return "needs Debian's chromium (apt-get install chromium)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    cache: dict[str, str | None] = {}
    for item in items:
        for marker in ("postgres", "redis", "browser"):
            if item.get_closest_marker(marker) is None:
                continue
            if marker not in cache:
                cache[marker] = _service_missing(marker)
            reason = cache[marker]
            if reason is None:
                continue
            if REQUIRE_SERVICES:
                item.stash[_MISSING_SERVICE] = reason
                item.fixturenames.insert(0, "_fail_missing_service")  # type: ignore[attr-defined]
            else:
                item.add_marker(pytest.mark.skip(reason=reason))


_MISSING_SERVICE = pytest.StashKey[str]()


@pytest.fixture
def _fail_missing_service(request: pytest.FixtureRequest) -> None:
    pytest.fail(f"REQUIRE_SERVICES=1 but this test {request.node.stash[_MISSING_SERVICE]}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} tests skipped because PostgreSQL, Redis or chromium is not configured "
            "(set DATABASE_URL and REDIS_URL as .ci/run does; see README)."
        )


@pytest.fixture(autouse=True)
def _isolated_cache() -> Iterator[None]:
    from django.core.cache import cache

    from alertguardian.memo import clear_all_memos

    cache.clear()
    clear_all_memos()  # a rolled-back test's rules must not reach the next test
    yield
    cache.clear()
    clear_all_memos()


@pytest.fixture(autouse=True)
def _locmem_email(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
