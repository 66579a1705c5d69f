"""Board pages: login, the queue (team switcher, filters, order, counts), the alert page,
form actions (POST/redirect/GET, conflicts as messages), live endpoints, and the query
budget with 10,000 open alerts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import TeamRole
from accounts.tests.factories import DEFAULT_PASSWORD, MembershipFactory, TeamFactory, UserFactory, member
from alerts.models import Alert, AlertEvent, AlertStatus, AlertUserState
from alerts.services import alert_acknowledge, alert_raise
from alerts.tests.factories import AlertFactory

pytestmark = pytest.mark.django_db

ROW_ID = re.compile(r'data-alert-row="(\d+)"')


def row_ids(response) -> list[int]:
    return [int(n) for n in ROW_ID.findall(response.content.decode())]


@pytest.fixture
def team():
    return TeamFactory(name="Ops Desk")


@pytest.fixture
def agent(team):
    return member(team, full_name="Ana Lima")


@pytest.fixture
def agent_client(agent) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def flash_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- login -------------------------------------------------------------------------------------


def test_board_requires_login():
    response = Client().get("/board/")
    assert response.status_code == 302
    assert response["Location"].startswith("/board/login/?next=/board/")


def test_login_with_csrf_then_logout(agent):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/board/login/")
    assert page.status_code == 200
    token = client.cookies["csrftoken"].value
    refused = client.post("/board/login/", {"username": agent.email, "password": DEFAULT_PASSWORD})
    assert refused.status_code == 403  # no CSRF token
    wrong = client.post("/board/login/", {"username": agent.email, "password": "nope", "csrfmiddlewaretoken": token})
    assert wrong.status_code == 200
    assert b"Please enter a correct" in wrong.content
    response = client.post(
        "/board/login/", {"username": agent.email, "password": DEFAULT_PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert response["Location"] == "/board/"
    assert client.get("/board/").status_code == 200
    token = client.cookies["csrftoken"].value
    assert client.post("/board/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert client.get("/board/").status_code == 302


# --- the queue ---------------------------------------------------------------------------------


def test_board_lists_open_alerts_by_severity_then_age_with_counts(team, agent_client):
    now = timezone.now()
    low_old = AlertFactory(team=team, severity="low", created_at=now - timedelta(hours=5))
    crit_new = AlertFactory(team=team, severity="critical", created_at=now - timedelta(minutes=1))
    crit_old = AlertFactory(team=team, severity="critical", created_at=now - timedelta(hours=2))
    high_acked = AlertFactory(team=team, severity="high", status=AlertStatus.ACKNOWLEDGED)
    AlertFactory(team=team, severity="critical", status=AlertStatus.RESOLVED)
    AlertFactory(severity="critical")  # another team
    response = agent_client.get("/board/")
    assert response.status_code == 200
    assert row_ids(response) == [crit_old.pk, crit_new.pk, high_acked.pk, low_old.pk]
    counts = response.context["counts"]
    assert counts.open_by_severity == {"critical": 2, "high": 1, "medium": 0, "low": 1}
    assert (counts.triggered, counts.acknowledged, counts.matching) == (3, 1, 4)
    html = response.content.decode()
    # Severity is icon + label, not colour alone.
    assert '<use href="#sev-critical"/></svg><span class="sev__label">Critical</span>' in html


def test_filters_status_severity_type_mine_and_search(team, agent, agent_client):
    mine = AlertFactory(team=team, severity="high", type="flight_delayed", assignee=agent, title="UA1 delayed")
    cancelled = AlertFactory(team=team, severity="critical", type="flight_cancelled", resource="DL9-2013-02-08-ATL")
    resolved = AlertFactory(team=team, status=AlertStatus.RESOLVED)
    assert row_ids(agent_client.get("/board/?status=resolved")) == [resolved.pk]
    assert set(row_ids(agent_client.get("/board/?status=all"))) == {mine.pk, cancelled.pk, resolved.pk}
    assert row_ids(agent_client.get("/board/?severity=critical")) == [cancelled.pk]
    assert row_ids(agent_client.get("/board/?type=flight_delayed")) == [mine.pk]
    assert row_ids(agent_client.get("/board/?mine=1")) == [mine.pk]
    assert row_ids(agent_client.get("/board/?q=dl9-2013")) == [cancelled.pk]
    assert row_ids(agent_client.get(f"/board/?q=%23{mine.pk}")) == [mine.pk]
    # Nonsense filter values fall back to defaults instead of erroring.
    assert agent_client.get("/board/?status=bogus&severity=extreme&page=x").status_code == 200
    empty = agent_client.get("/board/?q=nothing-like-this")
    assert row_ids(empty) == []
    assert b"Nothing matches these filters." in empty.content


def test_team_switcher_remembers_the_choice_and_hides_other_tenants(team, agent, agent_client):
    night = TeamFactory(name="Night Shift")  # sorts before "Ops Desk": the default board
    foreign = TeamFactory(name="Zulu")
    MembershipFactory(team=night, user=agent)
    in_ops = AlertFactory(team=team)
    in_night = AlertFactory(team=night)
    AlertFactory(team=foreign)
    first = agent_client.get("/board/")
    assert row_ids(first) == [in_night.pk]
    assert [t.name for t in first.context["teams"]] == ["Night Shift", "Ops Desk"]
    assert row_ids(agent_client.get(f"/board/?team={team.pk}")) == [in_ops.pk]
    assert row_ids(agent_client.get("/board/")) == [in_ops.pk]  # remembered in the session
    assert agent_client.get(f"/board/?team={foreign.pk}").status_code == 404
    assert agent_client.get("/board/?team=abc").status_code == 404
    assert row_ids(agent_client.get("/board/")) == [in_ops.pk]  # a refused switch changes nothing
    assert agent_client.get("/board/stats/").context["team"] == team


def test_user_without_a_team_sees_an_explanation():
    client = Client()
    client.force_login(UserFactory())
    response = client.get("/board/")
    assert response.status_code == 200
    assert b"No team yet" in response.content


def test_unread_badge_counts_open_unread_alerts_visible_to_the_user(team, agent, agent_client):
    read = AlertFactory(team=team)
    AlertFactory(team=team)
    AlertFactory(team=team)
    AlertUserState.objects.create(alert=read, user=agent, read_at=timezone.now())
    AlertFactory(team=team, status=AlertStatus.RESOLVED)
    AlertFactory()
    response = agent_client.get("/board/")
    assert response.context["unread_count"] == 2
    assert re.search(rb"data-unread-count>2<", response.content)


def test_board_paginates_with_show_more(team, agent_client, settings):
    from alerts import board_selectors

    now = timezone.now()
    Alert.objects.bulk_create(
        [
            Alert(team=team, type="t", severity="medium", title=f"a{n}", created_at=now - timedelta(seconds=n))
            for n in range(205)
        ]
    )
    first = agent_client.get("/board/")
    assert len(row_ids(first)) == board_selectors.BOARD_PAGE_SIZE
    assert b"data-show-more" in first.content
    more = agent_client.get("/board/rows/?page=2", HTTP_ACCEPT="application/json").json()
    assert len(ROW_ID.findall(more["html"])) == 5
    assert more == {**more, "shown_until": 205, "has_more": False}
    page_two = agent_client.get("/board/?page=2")
    assert len(row_ids(page_two)) == 5
    assert not set(row_ids(page_two)) & set(row_ids(first))


def test_board_with_ten_thousand_open_alerts_uses_a_fixed_number_of_queries(
    team, agent, agent_client, django_assert_max_num_queries
):
    AlertFactory(team=team, assignee=agent)
    agent_client.get("/board/")  # warm the session and template caches
    with CaptureQueriesContext(connection) as with_one_alert:
        agent_client.get("/board/")
    now = timezone.now()
    severities = ["low", "medium", "high", "critical"]
    Alert.objects.bulk_create(
        [
            Alert(
                team=team,
                type=f"type_{n % 5}",
                severity=severities[n % 4],
                status=AlertStatus.TRIGGERED if n % 3 else AlertStatus.ACKNOWLEDGED,
                title=f"Alert {n}",
                resource=f"UA{n}-2013-02-08-EWR",
                assignee=agent if n % 7 == 0 else None,
                created_at=now - timedelta(seconds=n),
                ack_deadline=now + timedelta(minutes=5),
            )
            for n in range(10_000)
        ],
        batch_size=2000,
    )
    with django_assert_max_num_queries(10) as with_ten_thousand:
        response = agent_client.get("/board/")
    assert len(with_ten_thousand) == len(with_one_alert)
    assert response.status_code == 200
    rows = row_ids(response)
    assert len(rows) == 200
    assert response.context["counts"].open_total == 10_001
    # Critical first, oldest first among them.
    critical = Alert.objects.filter(team=team, severity="critical").order_by("created_at", "id")
    assert rows[:3] == list(critical.values_list("pk", flat=True)[:3])
    with django_assert_max_num_queries(10):
        filtered = agent_client.get("/board/?severity=high&mine=1&q=alert")
    assert filtered.status_code == 200
    with django_assert_max_num_queries(10):
        live = agent_client.get(f"/board/live/{rows[0]}/", HTTP_ACCEPT="application/json")
    assert live.json()["row"]


# --- the alert page ----------------------------------------------------------------------------


def test_alert_page_shows_fields_timeline_deadline_and_marks_read(team, agent, agent_client):
    deadline = timezone.now() + timedelta(minutes=5)
    alert = alert_raise(
        team=team,
        type="flight_cancelled",
        severity="critical",
        title="UA1545 cancelled",
        resource="UA1545-2013-02-08-EWR",
        metadata={"origin": "EWR"},
        affected_bookings_count=38,
    ).alert
    Alert.objects.filter(pk=alert.pk).update(ack_deadline=deadline)
    response = agent_client.get(f"/board/alerts/{alert.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "UA1545 cancelled" in html
    assert "UA1545-2013-02-08-EWR" in html
    assert f'data-deadline="{deadline.timestamp():.6f}"' in html
    assert "Triggered" in html  # timeline entry
    assert ">38</span> affected booking" in html
    assert "fb__booking" not in html and "No bookings on" in html  # the fallbacks panel, for a leg nobody booked
    state = AlertUserState.objects.get(alert=alert, user=agent)
    assert state.read_at is not None
    # Reading again is no new write.
    agent_client.get(f"/board/alerts/{alert.pk}/")
    assert AlertUserState.objects.get(alert=alert, user=agent).read_at == state.read_at


def test_alert_of_another_team_is_404_on_every_board_url(agent_client):
    foreign = AlertFactory()
    assert agent_client.get(f"/board/alerts/{foreign.pk}/").status_code == 404
    assert agent_client.post(f"/board/alerts/{foreign.pk}/acknowledge/").status_code == 404
    assert agent_client.post(f"/board/alerts/{foreign.pk}/note/", {"note": "x"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == AlertStatus.TRIGGERED


# --- actions -------------------------------------------------------------------------------------


def test_acknowledge_redirects_and_a_second_acknowledge_is_a_conflict_message(team, agent, agent_client):
    alert = AlertFactory(team=team)
    url = reverse("board:alert-acknowledge", args=[alert.pk])
    response = agent_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == f"/board/alerts/{alert.pk}/"
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == (AlertStatus.ACKNOWLEDGED, agent)
    again = agent_client.post(url, follow=True)
    assert any("only a triggered alert can be acknowledged" in m for m in flash_messages(again))
    assert b"toast--error" in again.content


def test_acknowledge_returns_to_the_board_when_asked(team, agent_client):
    alert = AlertFactory(team=team)
    response = agent_client.post(reverse("board:alert-acknowledge", args=[alert.pk]), {"next": "/board/?severity=high"})
    assert response["Location"] == "/board/?severity=high"
    evil = agent_client.post(reverse("board:alert-resolve", args=[alert.pk]), {"next": "https://evil.example/"})
    assert evil["Location"] == f"/board/alerts/{alert.pk}/"


def test_actions_answer_json_for_the_enhanced_forms(team, agent_client):
    alert = AlertFactory(team=team)
    url = reverse("board:alert-acknowledge", args=[alert.pk])
    ok = agent_client.post(url, HTTP_ACCEPT="application/json")
    assert ok.status_code == 200
    assert ok.json() == {"ok": True, "message": f"Alert #{alert.pk} acknowledged."}
    conflict = agent_client.post(url, HTTP_ACCEPT="application/json")
    assert conflict.status_code == 409
    assert conflict.json()["ok"] is False


def test_viewer_cannot_act(team):
    viewer = member(team, team_role=TeamRole.VIEWER)
    client = Client()
    client.force_login(viewer)
    alert = AlertFactory(team=team)
    page = client.get(f"/board/alerts/{alert.pk}/")
    assert b"acting on it needs an agent or admin role" in page.content
    response = client.post(reverse("board:alert-acknowledge", args=[alert.pk]), follow=True)
    assert any("alerts.manage" in m for m in flash_messages(response))
    alert.refresh_from_db()
    assert alert.status == AlertStatus.TRIGGERED


def test_resolve_with_note_unacknowledge_and_reopen(team, agent, agent_client):
    alert = AlertFactory(team=team)
    alert_acknowledge(alert_id=alert.pk, by=agent)
    agent_client.post(reverse("board:alert-unacknowledge", args=[alert.pk]))
    alert.refresh_from_db()
    assert alert.status == AlertStatus.TRIGGERED
    agent_client.post(reverse("board:alert-resolve", args=[alert.pk]), {"note": "Rebooked on UA1700"})
    alert.refresh_from_db()
    assert (alert.status, alert.resolution_note) == (AlertStatus.RESOLVED, "Rebooked on UA1700")
    # Reopening needs alerts.reopen (team admins), agents get a message.
    response = agent_client.post(reverse("board:alert-reopen", args=[alert.pk]), follow=True)
    assert any("alerts.reopen" in m for m in flash_messages(response))
    admin = member(team, team_role=TeamRole.ADMIN)
    admin_client = Client()
    admin_client.force_login(admin)
    admin_client.post(reverse("board:alert-reopen", args=[alert.pk]))
    alert.refresh_from_db()
    assert alert.status == AlertStatus.TRIGGERED


def test_assign_to_me_to_a_member_and_not_to_an_outsider(team, agent, agent_client):
    alert = AlertFactory(team=team)
    colleague = member(team)
    url = reverse("board:alert-assign", args=[alert.pk])
    agent_client.post(url, {"assignee": "none", "assign_to_me": "1"})
    alert.refresh_from_db()
    assert alert.assignee == agent
    agent_client.post(url, {"assignee": str(colleague.pk)})
    alert.refresh_from_db()
    assert alert.assignee == colleague
    outsider = member(TeamFactory())
    response = agent_client.post(url, {"assignee": str(outsider.pk)}, follow=True)
    assert any("Choose a staff member of this team" in m for m in flash_messages(response))
    agent_client.post(url, {"assignee": "none"})
    alert.refresh_from_db()
    assert alert.assignee is None
    assert AlertEvent.objects.filter(alert=alert, kind="assigned").count() == 3


def test_add_note_and_reject_an_empty_one(team, agent_client):
    alert = AlertFactory(team=team)
    url = reverse("board:alert-note", args=[alert.pk])
    agent_client.post(url, {"note": "Called the hotel"})
    assert AlertEvent.objects.get(alert=alert, kind="note").message == "Called the hotel"
    response = agent_client.post(url, {"note": "   "}, follow=True)
    assert any("Write a note first" in m for m in flash_messages(response))
    too_long = agent_client.post(url, {"note": "x" * 5001}, HTTP_ACCEPT="application/json")
    assert too_long.status_code == 400
    assert AlertEvent.objects.filter(alert=alert, kind="note").count() == 1
    assert agent_client.get(url).status_code == 405  # actions are POST only


# --- live endpoint -------------------------------------------------------------------------------


def test_live_row_follows_the_filters(team, agent, agent_client):
    alert = AlertFactory(team=team, severity="critical")
    data = agent_client.get(f"/board/live/{alert.pk}/?team={team.pk}", HTTP_ACCEPT="application/json").json()
    assert f'data-alert-row="{alert.pk}"' in data["row"]
    assert data["sort_key"][0] == -4
    assert data["matching"] == 1
    assert data["unread"] == 1
    assert "data-counts" in data["counts_html"]
    alert_acknowledge(alert_id=alert.pk, by=agent)
    only_triggered = agent_client.get(
        f"/board/live/{alert.pk}/?team={team.pk}&status=triggered", HTTP_ACCEPT="application/json"
    ).json()
    assert only_triggered["row"] is None
    foreign = AlertFactory()
    assert agent_client.get(f"/board/live/{foreign.pk}/").json()["row"] is None


# --- stats ---------------------------------------------------------------------------------------


def test_stats_page_renders_charts(team, agent, agent_client):
    AlertFactory(team=team, severity="critical", resource="UA1-2013-02-08-EWR")
    acked = AlertFactory(team=team, resource="DL2-2013-02-08-ATL", created_at=timezone.now() - timedelta(minutes=10))
    alert_acknowledge(alert_id=acked.pk, by=agent)
    response = agent_client.get("/board/stats/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="fill-critical"') == 1
    assert "Newark Liberty International Airport" in html
    assert 'class="marker marker--ack"' in html


def test_alert_text_is_escaped_in_rows_and_pages(team, agent, agent_client):
    nasty = '<img src=x onerror="alert(1)">'
    alert = AlertFactory(team=team, title=nasty, type="t<b>", resource='"><script>x</script>', assignee=agent)
    agent.full_name = "<i>Ana</i>"
    agent.save(update_fields=["full_name"])
    for html in (
        agent_client.get("/board/").content.decode(),
        agent_client.get(f"/board/live/{alert.pk}/", HTTP_ACCEPT="application/json").json()["row"],
        agent_client.get(f"/board/alerts/{alert.pk}/").content.decode(),
    ):
        assert nasty not in html
        assert "<script>x</script>" not in html
        assert "<i>Ana</i>" not in html
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_customers_do_not_get_the_staff_alert_page_even_for_their_own_report(team):
    from accounts.models import UserRole

    customer = UserFactory(role=UserRole.CUSTOMER)
    alert = AlertFactory(team=team, reported_by=customer)
    client = Client()
    client.force_login(customer)
    assert client.get(f"/board/alerts/{alert.pk}/").status_code == 404
    assert b"No team yet" in client.get("/board/").content
    response = client.post(reverse("board:alert-note", args=[alert.pk]), {"note": "hi"})
    assert response.status_code == 404
    assert not AlertEvent.objects.filter(alert=alert, kind="note").exists()


def test_live_endpoints_do_not_change_the_remembered_team(team, agent, agent_client):
    night = TeamFactory(name="Night Shift")
    MembershipFactory(team=night, user=agent)
    agent_client.get(f"/board/?team={team.pk}")
    alert = AlertFactory(team=night)
    agent_client.get(f"/board/live/{alert.pk}/?team={night.pk}", HTTP_ACCEPT="application/json")
    agent_client.get(f"/board/rows/?team={night.pk}&page=2", HTTP_ACCEPT="application/json")
    assert agent_client.get("/board/").context["team"] == team
