"""``alertguardian.memo``: what a process memoizes, for how long, and what clears it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import TeamFactory
from alertguardian import memo as memo_module
from alertguardian.memo import ProcessMemo
from alerts.models import DetectionCondition, DetectionRule, IntegrationKind
from alerts.services.detection import rules_for_team
from alerts.tests.ingest_helpers import flight_event, new_integration


def post(token: str, body: dict[str, Any]) -> Any:
    return APIClient().post(
        f"/api/v1/integrations/{token}/flight-events", data=json.dumps(body), content_type="application/json"
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(memo_module.time, "monotonic", clock)
    return clock


@pytest.fixture
def loads() -> list[str]:
    return []


def _loader(loads: list[str], value: Any) -> Any:
    def load() -> Any:
        loads.append(value)
        return value

    return load


def test_a_value_is_loaded_once_then_again_after_the_configured_seconds(settings, clock, loads):
    settings.CONFIG_CACHE_SECONDS = 1
    memo: ProcessMemo[str] = ProcessMemo("test")
    assert memo.get("k", _loader(loads, "a")) == "a"
    clock.now += 0.9
    assert memo.get("k", _loader(loads, "b")) == "a"
    clock.now += 0.2
    assert memo.get("k", _loader(loads, "c")) == "c"
    assert loads == ["a", "c"]


def test_zero_seconds_reads_every_time(settings, clock, loads):
    settings.CONFIG_CACHE_SECONDS = 0
    memo: ProcessMemo[str] = ProcessMemo("test")
    memo.get("k", _loader(loads, "a"))
    memo.get("k", _loader(loads, "b"))
    assert loads == ["a", "b"]


def test_keys_are_memoized_apart_and_keep_if_refuses_a_value(settings, clock, loads):
    settings.CONFIG_CACHE_SECONDS = 1
    memo: ProcessMemo[str | None] = ProcessMemo("test")
    assert memo.get(1, _loader(loads, "one")) == "one"
    assert memo.get(2, _loader(loads, "two")) == "two"
    assert memo.get(3, _loader(loads, None), keep_if=lambda value: value is not None) is None
    assert memo.get(3, _loader(loads, None), keep_if=lambda value: value is not None) is None
    assert memo.get(1, _loader(loads, "x")) == "one"
    assert loads == ["one", "two", None, None]


def test_a_load_that_a_clear_overtook_is_not_kept(settings, clock, loads):
    """A load that read the rows before an edit committed must not outlive the edit."""
    settings.CONFIG_CACHE_SECONDS = 1
    memo: ProcessMemo[str] = ProcessMemo("test")

    def load_then_edit() -> str:
        loads.append("old")
        memo.clear()  # the edit lands while the load is on its way back
        return "old"

    assert memo.get("k", load_then_edit) == "old"
    assert memo.get("k", _loader(loads, "new")) == "new"
    assert loads == ["old", "new"]


@pytest.mark.django_db
def test_a_rule_saved_in_this_process_is_used_at_once(settings):
    settings.CONFIG_CACHE_SECONDS = 60
    team = TeamFactory()
    before = rules_for_team(team.pk)
    rule = DetectionRule.objects.create(
        team=team, name="tight", condition=DetectionCondition.DELAY_MINUTES, threshold_minutes=5, severity="high"
    )
    assert rule in rules_for_team(team.pk)[DetectionCondition.DELAY_MINUTES]
    assert rule not in before.get(DetectionCondition.DELAY_MINUTES, [])
    rule.delete()
    assert all(r.name != "tight" for r in rules_for_team(team.pk)[DetectionCondition.DELAY_MINUTES])


@pytest.mark.django_db
def test_an_edit_made_elsewhere_is_used_after_the_configured_seconds(settings, clock):
    """Another process's edit sends no signal here (a queryset update stands in for it)."""
    settings.CONFIG_CACHE_SECONDS = 1
    team = TeamFactory()
    rule = DetectionRule.objects.create(
        team=team, name="tight", condition=DetectionCondition.DELAY_MINUTES, threshold_minutes=5, severity="high"
    )
    assert rule in rules_for_team(team.pk)[DetectionCondition.DELAY_MINUTES]
    DetectionRule.objects.filter(pk=rule.pk).update(enabled=False)
    assert rule in rules_for_team(team.pk)[DetectionCondition.DELAY_MINUTES]
    clock.now += 1.1
    assert rule not in rules_for_team(team.pk)[DetectionCondition.DELAY_MINUTES]


@pytest.mark.django_db
def test_a_revoked_token_is_refused_elsewhere_after_the_configured_seconds(settings, clock):
    settings.CONFIG_CACHE_SECONDS = 1
    integration, token = new_integration(kind=IntegrationKind.FLIGHT_EVENTS)
    assert post(token, flight_event("e1")).status_code == 200
    type(integration).objects.filter(pk=integration.pk).update(is_active=False)  # as another process would
    assert post(token, flight_event("e2")).status_code == 200
    clock.now += 1.1
    assert post(token, flight_event("e3")).status_code == 401


@pytest.mark.django_db
def test_unknown_tokens_are_not_memoized(settings):
    settings.CONFIG_CACHE_SECONDS = 60
    for n in range(3):
        assert post(f"made-up-{n}", flight_event()).status_code == 404
    from alerts.ingest_selectors import _integrations_by_token

    assert _integrations_by_token._entries == {}
