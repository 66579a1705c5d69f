"""End to end: two agents on one team, two headless chromium contexts, a real ASGI server.

Daphne runs as a subprocess against the test database (committed data, hence
``transaction=True``) and both processes share channels-redis, which is why this test
also needs PostgreSQL and Redis. Debian's chromium is driven by Playwright, which must
never download a browser (``PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1``).

The alert is raised the way an integration raises it: a cancellation posted to the
flight-events endpoint of the running server; the acknowledge is a click in the UI.
Screenshots go to ``artifacts/`` (gitignored).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD, TeamFactory, member
from alerts.events import publish_alert_event
from alerts.models import Alert, AlertStatus
from alerts.services import alert_note_add
from alerts.tests.ingest_helpers import ensure_default_rules, flight_event, new_integration

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LIVE = 1000  # ms: the asserted live steps
SETUP = 20_000  # ms: logging in, first socket connection


def in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ORM work in a plain thread: Playwright's sync API keeps an event loop running in
    this one, and Django refuses synchronous queries where a loop runs."""

    def work() -> T:
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def escalate(alert_id: int, deadline: datetime) -> datetime:
    """What the escalation app does when a step runs (it is not on this branch): move the
    deadline and publish ``alert.escalated``."""
    with transaction.atomic():
        Alert.objects.filter(pk=alert_id).update(ack_deadline=deadline)
        publish_alert_event("alert.escalated", Alert.objects.get(pk=alert_id), {"step": 1})
    return deadline


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (our own loopback server)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"daphne did not answer {url} within {timeout} s")


@pytest.fixture
def live_server_url(transactional_db) -> Iterator[str]:
    """Daphne serving the project against this test's database and Redis."""
    db = connection.settings_dict
    port = _free_port()
    env = {
        **os.environ,
        "DEBUG": "1",
        "FAST_PASSWORD_HASHER": "1",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DB_CONN_MAX_AGE": "0",
    }
    log = (ARTIFACTS / "browser-test-daphne.log").open("wb") if ARTIFACTS.exists() else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "alertguardian.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_serving(f"http://127.0.0.1:{port}/board/login/", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def _log_in(browser, base_url: str, email: str):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1360, "height": 860})
    page = context.new_page()
    page.goto(f"{base_url}/board/login/", timeout=SETUP)
    page.fill("#id_username", email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/board/", timeout=SETUP)
    expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "live", timeout=SETUP)
    return page


def requests_post(url: str, body: object) -> dict[str, object]:
    """POST JSON with the standard library; returns the status and the decoded body."""
    request = urllib.request.Request(  # noqa: S310 (a local test server)
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return {"status": answer.status, "body": json.loads(answer.read() or b"{}")}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": json.loads(error.read() or b"{}")}


def test_two_agents_see_a_new_alert_and_its_acknowledgement_live(live_server_url, browser):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    team = in_thread(TeamFactory, name="Ops Desk")
    ana = in_thread(member, team, full_name="Ana Lima")
    bo = in_thread(member, team, full_name="Bo Berg")
    page_ana = _log_in(browser, live_server_url, ana.email)
    page_bo = _log_in(browser, live_server_url, bo.email)
    expect(page_ana.locator("[data-alert-row]")).to_have_count(0)

    in_thread(ensure_default_rules)
    _integration, token = in_thread(new_integration, team)
    response = requests_post(
        f"{live_server_url}/api/v1/integrations/{token}/flight-events",
        flight_event("cx-1", "cancelled", occurred_at="2013-02-08T03:00:00-05:00"),
    )
    assert response["status"] in (200, 202), response
    alert = in_thread(Alert.objects.get, team=team, type="flight_cancelled")
    row_ana, row_bo = page_ana.locator(f"#alert-{alert.pk}"), page_bo.locator(f"#alert-{alert.pk}")
    expect(row_ana).to_be_visible(timeout=LIVE)
    expect(row_bo).to_be_visible(timeout=LIVE)
    expect(row_bo.locator("[data-status-chip]")).to_have_text("Triggered")
    expect(row_bo.locator("[data-deadline]")).to_have_count(0)

    # The escalation app sets the acknowledge deadline and announces it: the countdown starts.
    deadline = in_thread(escalate, alert.pk, timezone.now() + timedelta(minutes=5))
    countdown = row_bo.locator("[data-deadline]")
    expect(countdown).to_have_attribute("data-deadline", f"{deadline.timestamp():.6f}", timeout=LIVE)
    expect(countdown).to_contain_text(re.compile(r"^[45]:\d\d$"))
    page_bo.screenshot(path=ARTIFACTS / "e2e-1-new-alert-bo.png")
    # A later step moves the deadline: the countdown restarts from the new one.
    later = in_thread(escalate, alert.pk, timezone.now() + timedelta(minutes=15))
    expect(countdown).to_have_attribute("data-deadline", f"{later.timestamp():.6f}", timeout=LIVE)
    expect(countdown).to_contain_text(re.compile(r"^1[45]:\d\d$"))

    row_ana.get_by_role("button", name="Acknowledge").click()
    expect(row_bo.locator("[data-status-chip]")).to_have_text("Acknowledged", timeout=LIVE)
    expect(row_ana.locator("[data-status-chip]")).to_have_text("Acknowledged", timeout=LIVE)
    page_bo.screenshot(path=ARTIFACTS / "e2e-2-acknowledged-bo.png")
    page_ana.screenshot(path=ARTIFACTS / "e2e-2-acknowledged-ana.png")
    in_thread(alert.refresh_from_db)
    assert (alert.status, alert.acknowledged_by_id) == (AlertStatus.ACKNOWLEDGED, ana.pk)

    # The alert page updates its timeline live too.
    page_bo.goto(f"{live_server_url}/board/alerts/{alert.pk}/", timeout=SETUP)
    expect(page_bo.locator("[data-live-status]")).to_have_attribute("data-state", "live", timeout=SETUP)
    in_thread(alert_note_add, alert_id=alert.pk, by=ana, note="Holding 12 seats on UA1700")
    expect(page_bo.locator("[data-live-region=timeline]")).to_contain_text("Holding 12 seats on UA1700", timeout=LIVE)
    page_bo.screenshot(path=ARTIFACTS / "e2e-3-detail-note-bo.png", full_page=True)
