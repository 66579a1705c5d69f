"""Detection defaults, dedup and escalation of severity, reinstatement, outcomes, rules as data."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import TeamRole, UserRole
from accounts.tests.factories import TeamFactory, member
from alerts import ingest_hooks
from alerts.flight_contract import parse_flight_events
from alerts.models import Alert, AlertEvent, DetectionRule
from alerts.services import alert_acknowledge
from alerts.services.detection_rules import detection_rule_create, detection_rule_update
from alerts.services.flights import flight_events_ingest
from alerts.tests.ingest_helpers import LEG, ensure_default_rules, flight_event, new_integration
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rules():
    ensure_default_rules()


@pytest.fixture
def feed():
    integration, _ = new_integration()
    return integration


def ingest(integration, *events):
    parsed, _ = parse_flight_events(list(events))
    return flight_events_ingest(integration=integration, events=parsed)


def delayed(event_id, estimated, occurred_at="2013-02-08T04:00:00-05:00", **extra):
    return flight_event(event_id, "delayed", occurred_at=occurred_at, estimated_departure=estimated, **extra)


def only_alert():
    alerts = list(Alert.objects.all())
    assert len(alerts) == 1, alerts
    return alerts[0]


def test_cancelled_is_critical_one_alert_per_leg(feed):
    ingest(feed, flight_event("s"), flight_event("c", "cancelled", occurred_at="2013-02-08T03:00:00-05:00"))
    ingest(feed, flight_event("c2", "cancelled", occurred_at="2013-02-08T03:30:00-05:00"))
    alert = only_alert()
    assert (alert.type, alert.severity, alert.dedup_key, alert.resource) == (
        "flight_cancelled",
        "critical",
        f"flight:{LEG}:cancelled",
        LEG,
    )
    assert alert.source == "flight_events"
    assert alert.integration_id == feed.pk
    assert alert.metadata["rule"]["condition"] == "cancelled"
    assert alert.metadata["escalate"] is True
    assert alert.title == "UA1545 EWR→IAH on 2013-02-08 cancelled"


@pytest.mark.parametrize(
    ("estimated", "minutes", "severity"),
    [
        ("2013-02-08T05:59:00-05:00", 44, None),
        ("2013-02-08T06:00:00-05:00", 45, "medium"),
        ("2013-02-08T07:15:00-05:00", 120, "high"),
        ("2013-02-08T08:15:00-05:00", 180, "critical"),
    ],
)
def test_delay_thresholds(feed, estimated, minutes, severity):
    result = ingest(feed, flight_event("s"), delayed("d", estimated))
    if severity is None:
        assert not Alert.objects.exists()
        assert result.alerts_raised == 0
        return
    alert = only_alert()
    assert (alert.type, alert.severity, alert.dedup_key) == ("flight_delayed", severity, f"flight:{LEG}:delay")
    assert alert.metadata["delay_minutes"] == minutes


def test_new_departure_on_a_later_local_day_is_critical_with_hotel_and_meal(feed):
    late_evening = {"scheduled_departure": "2013-02-08T23:30:00-05:00", "scheduled_arrival": ...}
    ingest(feed, flight_event("s", **late_evening), delayed("d", "2013-02-09T00:20:00-05:00", **late_evening))
    alert = only_alert()
    assert alert.severity == "critical"  # 50 minutes, but after local midnight at EWR
    assert alert.metadata["rule"]["condition"] == "later_local_day"
    assert alert.metadata["suggestions"] == ["hotel", "meal"]
    assert "Suggest: hotel, meal." in alert.message


def test_later_day_is_local_to_the_origin_not_utc(feed):
    # 20:00 at EWR is 01:00 UTC the next day: not a later local day.
    evening = {"scheduled_departure": "2013-02-08T19:00:00-05:00", "scheduled_arrival": ...}
    ingest(feed, flight_event("s", **evening), delayed("d", "2013-02-08T20:00:00-05:00", **evening))
    alert = only_alert()
    assert alert.severity == "medium"
    assert alert.metadata["rule"]["condition"] == "delay_minutes"


def test_diverted_is_high(feed):
    ingest(
        feed,
        flight_event("s"),
        flight_event("v", "diverted", occurred_at="2013-02-08T08:00:00-05:00", diverted_to="AUS"),
    )
    alert = only_alert()
    assert (alert.type, alert.severity, alert.dedup_key) == ("flight_diverted", "high", f"flight:{LEG}:diverted")
    assert alert.title.endswith("diverted to AUS")


def test_gate_change_is_medium_and_not_escalated(feed):
    ingest(feed, flight_event("s", gate="C5"))
    assert not Alert.objects.exists()  # a first gate is not a change
    ingest(feed, flight_event("g", "gate_change", occurred_at="2013-02-08T04:00:00-05:00", gate="C9"))
    alert = only_alert()
    assert (alert.type, alert.severity, alert.dedup_key) == ("flight_gate_changed", "medium", f"flight:{LEG}:gate")
    assert alert.metadata["escalate"] is False
    assert alert.metadata["notify_customers"] is True
    ingest(feed, flight_event("g2", "gate_change", occurred_at="2013-02-08T04:30:00-05:00", gate="C11"))
    assert only_alert().occurrences == 2  # the same open alert follows the gate


def test_other_status_changes_raise_no_agent_alert_but_reach_the_signal(feed, django_capture_on_commit_callbacks):
    received = []
    ingest_hooks.flight_legs_changed.connect(lambda sender, **kw: received.append(kw), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ingest(feed, flight_event("s"))
            ingest(feed, flight_event("d", "departed", occurred_at="2013-02-08T05:20:00-05:00"))
    finally:
        ingest_hooks.flight_legs_changed.disconnect(dispatch_uid="t")
    assert not Alert.objects.exists()
    findings = received[-1]["changes"][0]["findings"]
    assert findings == [
        {
            "kind": "status",
            "severity": "low",
            "creates_alert": False,
            "notify_customers": True,
            "escalate": False,
            "suggestions": [],
            "alert_id": None,
        }
    ]
    assert received[0]["changes"][0]["findings"] == []  # first sight of a leg is not a change


def test_growing_delay_updates_the_one_alert_and_raises_severity(feed):
    ingest(feed, flight_event("s"), delayed("d1", "2013-02-08T06:15:00-05:00"))
    first = only_alert()
    assert first.severity == "medium"
    result = ingest(feed, delayed("d2", "2013-02-08T07:30:00-05:00", occurred_at="2013-02-08T04:30:00-05:00"))
    assert (result.alerts_raised, result.alerts_updated) == (0, 1)
    alert = only_alert()
    assert alert.pk == first.pk
    assert (alert.severity, alert.occurrences, alert.metadata["delay_minutes"]) == ("high", 2, 135)
    assert "delayed 135 min" in alert.title
    ingest(feed, delayed("d3", "2013-02-08T08:30:00-05:00", occurred_at="2013-02-08T05:00:00-05:00"))
    assert only_alert().severity == "critical"
    kinds = list(AlertEvent.objects.filter(alert=alert).values_list("kind", flat=True))
    assert kinds == ["triggered", "severity_raised", "severity_raised"]
    # A repeat with the same delay changes nothing; a shrinking delay never lowers severity.
    ingest(feed, delayed("d4", "2013-02-08T08:30:00-05:00", occurred_at="2013-02-08T05:10:00-05:00"))
    ingest(feed, delayed("d5", "2013-02-08T06:30:00-05:00", occurred_at="2013-02-08T05:20:00-05:00"))
    alert = only_alert()
    assert (alert.severity, alert.occurrences) == ("critical", 4)


def test_reinstated_resolves_the_cancellation_alert(feed):
    ingest(feed, flight_event("s"), flight_event("c", "cancelled", occurred_at="2013-02-08T03:00:00-05:00"))
    alert = only_alert()
    result = ingest(feed, flight_event("r", "reinstated", occurred_at="2013-02-08T03:30:00-05:00"))
    assert result.alerts_resolved == 1
    alert.refresh_from_db()
    assert alert.status == "resolved"
    assert alert.resolved_by is None
    resolved = AlertEvent.objects.get(alert=alert, kind="resolved")
    assert resolved.actor_label.startswith(f"integration:{feed.pk} ")
    assert AuditEntry.objects.filter(action="alert.resolved", target_id=str(alert.pk)).exists()
    # Cancelled again after the reinstatement: a new episode, a new alert.
    ingest(feed, flight_event("c2", "cancelled", occurred_at="2013-02-08T04:00:00-05:00"))
    assert Alert.objects.filter(dedup_key=f"flight:{LEG}:cancelled", status="triggered").count() == 1
    assert Alert.objects.count() == 2


def test_reinstated_after_an_agent_acknowledged_still_resolves(feed):
    ingest(feed, flight_event("c", "cancelled"))
    agent = member(feed.team)
    alert_acknowledge(alert_id=only_alert().pk, by=agent)
    ingest(feed, flight_event("r", "reinstated", occurred_at="2013-02-08T03:30:00-05:00"))
    assert only_alert().status == "resolved"


def test_departed_and_arrived_record_the_outcome_on_the_delay_alert(feed):
    ingest(feed, flight_event("s"), delayed("d", "2013-02-08T07:00:00-05:00"))
    result = ingest(
        feed,
        flight_event(
            "dep",
            "departed",
            occurred_at="2013-02-08T07:05:00-05:00",
            actual_departure="2013-02-08T07:05:00-05:00",
        ),
    )
    assert result.outcomes_recorded == 1
    ingest(
        feed,
        flight_event(
            "arr",
            "arrived",
            occurred_at="2013-02-08T10:00:00-06:00",
            actual_arrival="2013-02-08T10:00:00-06:00",
        ),
    )
    alert = only_alert()
    outcomes = list(AlertEvent.objects.filter(alert=alert, kind="outcome").order_by("id"))
    assert [event.data["event"] for event in outcomes] == ["departed", "arrived"]
    assert outcomes[0].message == "UA1545 departed (110 min late from EWR)"
    assert alert.metadata["outcome"]["actual_arrival"] == "2013-02-08T10:00:00-06:00"  # local at IAH
    assert alert.metadata["outcome"]["actual_departure"] == "2013-02-08T07:05:00-05:00"
    assert AuditEntry.objects.filter(action="alert.outcome_recorded").count() == 2
    # 105 min estimated, 110 min actual: the same alert follows, still in the 45-119 min band
    assert (alert.severity, alert.metadata["delay_minutes"]) == ("medium", 110)


def test_departure_without_a_delay_alert_records_nothing(feed):
    ingest(feed, flight_event("s"))
    result = ingest(feed, flight_event("dep", "departed", occurred_at="2013-02-08T05:20:00-05:00"))
    assert result.outcomes_recorded == 0
    assert not AlertEvent.objects.filter(kind="outcome").exists()


def test_unannounced_late_departure_raises_a_delay_alert(feed):
    ingest(feed, flight_event("s"))
    ingest(
        feed,
        flight_event(
            "dep", "departed", occurred_at="2013-02-08T07:20:00-05:00", actual_departure="2013-02-08T07:20:00-05:00"
        ),
    )
    alert = only_alert()
    assert (alert.type, alert.severity) == ("flight_delayed", "high")


def test_team_rules_replace_the_global_rules_of_their_condition(feed):
    detection_rule_create(
        team=feed.team, by=None, name="EU261 2 h", condition="delay_minutes", threshold_minutes=120, severity="high"
    )
    ingest(feed, flight_event("s"), delayed("d", "2013-02-08T06:15:00-05:00"))  # 60 min
    assert not Alert.objects.exists()  # the global 45 min rule does not apply to this team
    ingest(feed, flight_event("c", "cancelled", occurred_at="2013-02-08T04:30:00-05:00"))
    assert only_alert().severity == "critical"  # other conditions still use the globals
    other, _ = new_integration()
    ingest(other, flight_event("s"), delayed("d", "2013-02-08T06:15:00-05:00"))
    assert Alert.objects.filter(team=other.team, severity="medium").count() == 1


def test_disabled_rules_and_changed_severities_take_effect(feed):
    cancelled = DetectionRule.objects.get(team__isnull=True, condition="cancelled")
    detection_rule_update(rule_id=cancelled.pk, by=None, severity="high")
    ingest(feed, flight_event("c", "cancelled"))
    assert only_alert().severity == "high"
    detection_rule_update(rule_id=cancelled.pk, by=None, enabled=False)
    other, _ = new_integration()
    ingest(other, flight_event("c", "cancelled"))
    assert not Alert.objects.filter(team=other.team).exists()


def test_affected_bookings_counters_set_the_count(feed):
    calls = []

    def counter(team_id, leg_keys):
        calls.append((team_id, leg_keys))
        return dict.fromkeys(leg_keys, 7)

    ingest_hooks.AFFECTED_BOOKINGS_COUNTERS.append(counter)
    try:
        ingest(feed, flight_event("c", "cancelled"))
    finally:
        ingest_hooks.AFFECTED_BOOKINGS_COUNTERS.remove(counter)
    assert only_alert().affected_bookings_count == 7
    assert calls == [(feed.team_id, [LEG])]


def test_without_counters_the_count_is_zero(feed):
    ingest(feed, flight_event("c", "cancelled"))
    assert only_alert().affected_bookings_count == 0


# --- the detection rules API ------------------------------------------------------------


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_seeded_defaults_match_the_travel_guide():
    rows = set(
        DetectionRule.objects.filter(team__isnull=True).values_list(
            "condition", "threshold_minutes", "severity", "creates_alert", "escalate"
        )
    )
    assert rows == {
        ("cancelled", None, "critical", True, True),
        ("delay_minutes", 180, "critical", True, True),
        ("later_local_day", None, "critical", True, True),
        ("delay_minutes", 120, "high", True, True),
        ("diverted", None, "high", True, True),
        ("delay_minutes", 45, "medium", True, True),
        ("gate_change", None, "medium", True, False),
        ("other", None, "low", False, False),
    }


def test_team_manager_creates_and_edits_team_rules_but_not_global_ones():
    team = TeamFactory()
    manager = member(team, team_role=TeamRole.ADMIN)
    client = api(manager)
    listed = client.get("/api/v1/detection-rules")
    assert listed.status_code == 200
    assert len(listed.json()) == 8
    created = client.post(
        "/api/v1/detection-rules",
        {
            "team": team.pk,
            "name": "EU care 3 h",
            "condition": "delay_minutes",
            "threshold_minutes": 180,
            "severity": "critical",
            "suggestions": ["hotel"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]
    assert (
        client.patch(f"/api/v1/detection-rules/{rule_id}", {"severity": "high"}, format="json").json()["severity"]
        == "high"
    )
    assert AuditEntry.objects.filter(action="detection_rule.updated", target_id=str(rule_id)).exists()
    global_rule = DetectionRule.objects.filter(team__isnull=True).first()
    assert (
        client.patch(f"/api/v1/detection-rules/{global_rule.pk}", {"severity": "low"}, format="json").status_code == 403
    )
    glob = client.post(
        "/api/v1/detection-rules", {"name": "x", "condition": "cancelled", "severity": "low"}, format="json"
    )
    assert glob.status_code == 403
    assert client.delete(f"/api/v1/detection-rules/{rule_id}").status_code == 204
    assert not DetectionRule.objects.filter(pk=rule_id).exists()


def test_detection_rule_validation_and_tenancy():
    team = TeamFactory()
    client = api(member(team, team_role=TeamRole.OWNER))
    missing_threshold = client.post(
        "/api/v1/detection-rules",
        {"team": team.pk, "name": "x", "condition": "delay_minutes", "severity": "high"},
        format="json",
    )
    assert missing_threshold.status_code == 400
    assert "threshold_minutes" in missing_threshold.json()["details"]
    bad = client.post(
        "/api/v1/detection-rules",
        {"team": team.pk, "name": "x", "condition": "boom", "severity": "huge"},
        format="json",
    )
    assert set(bad.json()["details"]) == {"condition", "severity"}
    other_team = TeamFactory()
    foreign = detection_rule_create(team=other_team, by=None, name="theirs", condition="cancelled", severity="low")
    assert client.get(f"/api/v1/detection-rules/{foreign.pk}").status_code == 404
    assert client.patch(f"/api/v1/detection-rules/{foreign.pk}", {"name": "mine"}, format="json").status_code == 404
    assert (
        client.post(
            "/api/v1/detection-rules",
            {"team": other_team.pk, "name": "x", "condition": "cancelled", "severity": "low"},
            format="json",
        ).status_code
        == 404
    )
    agent = member(team)
    assert api(agent).get("/api/v1/detection-rules").status_code == 403


def test_platform_admin_edits_global_rules():
    admin = member(TeamFactory(), role=UserRole.ADMIN)
    rule = DetectionRule.objects.get(team__isnull=True, condition="gate_change")
    response = api(admin).patch(f"/api/v1/detection-rules/{rule.pk}", {"escalate": True}, format="json")
    assert response.status_code == 200
    rule.refresh_from_db()
    assert rule.escalate is True


def test_rules_are_edited_in_the_admin_through_the_services(client):
    admin_user = member(TeamFactory(), role=UserRole.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    assert client.get("/admin/alerts/detectionrule/").status_code == 200
    assert client.get("/admin/alerts/flightstatus/").status_code == 200
    rule = DetectionRule.objects.get(team__isnull=True, condition="diverted")
    response = client.post(
        f"/admin/alerts/detectionrule/{rule.pk}/change/",
        {
            "team": "",
            "name": "Diverted",
            "condition": "diverted",
            "threshold_minutes": "",
            "severity": "critical",
            "creates_alert": "on",
            "escalate": "on",
            "notify_customers": "on",
            "suggestions": "[]",
            "enabled": "on",
            "ordering": "50",
        },
    )
    assert response.status_code == 302, response.content
    rule.refresh_from_db()
    assert rule.severity == "critical"
    entry = AuditEntry.objects.get(action="detection_rule.updated", target_id=str(rule.pk))
    assert entry.actor_id == admin_user.pk
    assert entry.data == {"severity": ["high", "critical"]}
