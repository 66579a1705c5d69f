"""The rule engine: validating definitions, matching events, evaluating threshold rules
over alerts, and running due time rules.

Bounds: the schema caps conditions (20 leaves, 3 levels); event matching is pure Python,
O(conditions), with no query; a threshold evaluation reads at most ``MAX_NEW_ALERTS`` new
alerts and ``MAX_CANDIDATES`` alerts of the touched groups with indexed queries, under a
PostgreSQL ``statement_timeout``, holding only its own rule row (``SKIP LOCKED``), so
concurrent workers never evaluate the same rule twice at once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, F, Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from alertguardian.api import InvalidInput
from alerts.models import Alert, AlertSource
from alerts.ops.conditions import (
    METADATA_PREFIX,
    alert_condition_error,
    alert_field_error,
    alert_filter,
    conditions_match,
    iter_leaves,
    render_template,
    template_errors,
)
from alerts.ops.models import AlertRule, AlertRuleKind, RuleFiring
from alerts.ops.schedule import CronError, cron_next, cron_parse, schedule_next, zone
from alerts.ops.schemas import MAX_CONDITIONS, MAX_DEPTH, error_path, schema_errors
from alerts.services import RaiseResult, alert_raise
from audit.services import AuditActor

logger = logging.getLogger(__name__)

MAX_NEW_ALERTS = 5000
MAX_CANDIDATES = 50_000
STATEMENT_TIMEOUT_MS = 5000
# Alerts committed out of id order (concurrent transactions) are caught by re-reading
# the last few minutes each run; firings are idempotent, so re-reading is harmless.
RESCAN = timedelta(minutes=5)
# With an event time in metadata, alerts may arrive late: compare with alerts created up
# to this long before the earliest new one.
LATE_ARRIVAL = timedelta(days=1)


# --- validation ------------------------------------------------------------------------


def rule_definition_errors(kind: str, definition: Any) -> dict[str, list[str]]:
    """Every problem of ``definition``, keyed by field path (empty when valid)."""
    errors = schema_errors(kind, definition)
    if errors:
        return errors

    def add(path: tuple[str | int, ...], message: str) -> None:
        errors.setdefault(error_path(path), []).append(message)

    leaves = list(iter_leaves(definition.get("conditions", [])))
    if len(leaves) > MAX_CONDITIONS:
        add(("conditions",), f"at most {MAX_CONDITIONS} conditions in total")
    if any(depth > MAX_DEPTH for _, _, depth in leaves):
        add(("conditions",), f"conditions nest at most {MAX_DEPTH} levels")
    if kind == AlertRuleKind.THRESHOLD:
        for path, leaf, _ in leaves:
            problem = alert_condition_error(leaf)
            if problem:
                add((*path, "field" if "field" in problem else "op"), problem)
        if "group_by" in definition and (problem := alert_field_error(definition["group_by"])):
            add(("group_by",), problem)
        if "time_field" in definition and (problem := alert_field_error(definition["time_field"], for_time=True)):
            add(("time_field",), problem)
    if kind == AlertRuleKind.TIME and "cron" in definition["schedule"]:
        try:
            spec = cron_parse(definition["schedule"]["cron"])
        except CronError as exc:
            add(("schedule", "cron"), str(exc))
        else:
            if cron_next(spec, timezone.now(), zone("UTC")) is None:
                add(("schedule", "cron"), "the cron expression never matches a real date")
    for name in ("title", "message", "dedup_key", "resource"):
        template = definition.get("alert", {}).get(name)
        if template:
            for problem in template_errors(template):
                add(("alert", name), problem)
    return errors


def rule_definition_validate(kind: str, definition: Any) -> None:
    errors = rule_definition_errors(kind, definition)
    if errors:
        raise InvalidInput("The rule definition is invalid.", details=errors, code="invalid_rule")


def time_rule_next_run(*, definition: Mapping[str, Any], timezone_name: str, after: datetime) -> datetime | None:
    return schedule_next(dict(definition["schedule"]), after, zone(timezone_name))


# --- raising ---------------------------------------------------------------------------


def rule_actor(rule: AlertRule) -> AuditActor:
    return AuditActor(label=f"rule:{rule.pk} {rule.name}"[:254])


def rule_alert_raise(
    *,
    rule: AlertRule,
    values: Mapping[str, Any],
    default_dedup_key: str,
    metadata: dict[str, Any],
    occurred_at: datetime | None = None,
) -> RaiseResult:
    """Raise the rule's configured alert with its templates rendered from ``values``."""
    spec = rule.definition["alert"]
    dedup_template = spec.get("dedup_key") or ""
    result = alert_raise(
        team=rule.team,
        type=spec["type"],
        severity=spec["severity"],
        title=render_template(spec["title"], values) or rule.name,
        message=render_template(spec.get("message", ""), values, limit=2000),
        resource=render_template(spec.get("resource", ""), values, limit=200),
        dedup_key=render_template(dedup_template, values) if dedup_template else default_dedup_key,
        source=AlertSource.RULE,
        metadata={"rule_id": rule.pk, "rule_name": rule.name, **metadata},
        actor=rule_actor(rule),
        occurred_at=occurred_at,
    )
    AlertRule.objects.filter(pk=rule.pk).update(last_fired_at=timezone.now(), fire_count=F("fire_count") + 1)
    return result


# --- event rules -----------------------------------------------------------------------


def event_context(*, event_type: str, source: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return {"event_type": event_type, "source": source, **data}


def event_rule_matches(
    definition: Mapping[str, Any], *, event_type: str, source: str, context: Mapping[str, Any]
) -> bool:
    types = definition.get("event_types")
    if types and event_type not in types:
        return False
    sources = definition.get("sources")
    if sources and source not in sources:
        return False
    return conditions_match(definition.get("conditions", []), context, definition.get("match", "all"))


def event_rule_fire(*, rule: AlertRule, context: Mapping[str, Any]) -> RaiseResult:
    event_id = context.get("event_id")
    default_key = f"rule:{rule.pk}:{event_id}" if isinstance(event_id, str | int) and event_id != "" else ""
    return rule_alert_raise(
        rule=rule,
        values=context,
        default_dedup_key=default_key,
        metadata={"event_type": context.get("event_type"), "event_id": event_id},
    )


# --- threshold rules -------------------------------------------------------------------


def _statement_timeout() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = {int(STATEMENT_TIMEOUT_MS)}")


def _parse_instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _field_expression(field: str) -> Any:
    if field.startswith(METADATA_PREFIX):
        # Text, as a plain CharField: lookups like __in then compare text on every database
        # (on SQLite a key transform's __in would parse its values as JSON).
        return Cast(KT("__".join(["metadata", *field[len(METADATA_PREFIX) :].split(".")])), CharField())
    return F(field)


@dataclass(frozen=True)
class Window:
    group: str
    start: datetime
    end: datetime
    alert_ids: tuple[int, ...]


def sweep_windows(
    points: list[tuple[datetime, int]], *, group: str, window: timedelta, threshold: int, fired: list[datetime]
) -> list[Window]:
    """Greedy scan of one group's (time, alert id) points, sorted by time: the earliest run of
    ``threshold`` points less than ``window`` apart opens a window [first, first + window);
    windows never overlap each other or an earlier firing (``fired`` window starts)."""
    found: list[Window] = []
    busy = sorted(fired)
    start_index = 0
    for end_index in range(len(points)):
        while start_index <= end_index and points[end_index][0] - points[start_index][0] >= window:
            start_index += 1
        if end_index - start_index + 1 < threshold:
            continue
        start = points[start_index][0]
        overlapping = [f for f in busy if f < start + window and start < f + window]
        if overlapping:
            free_from = max(overlapping) + window
        else:
            # Report every point of the window, not just the ones that crossed the threshold.
            end = start + window
            ids: list[int] = []
            for moment, pk in points[start_index:]:
                if moment >= end:
                    break
                ids.append(pk)
            found.append(Window(group=group, start=start, end=end, alert_ids=tuple(ids)))
            busy.append(start)
            free_from = start + window
        while start_index < len(points) and points[start_index][0] < free_from:
            start_index += 1
    return found


def threshold_rule_evaluate(*, rule_id: int, now: datetime | None = None) -> int:
    """Evaluate one threshold rule over the alerts new since its cursor; returns windows fired."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return _threshold_rule_evaluate(rule_id=rule_id, now=now)
    except Exception as exc:
        logger.exception("threshold rule %s failed", rule_id)
        AlertRule.objects.filter(pk=rule_id).update(last_run_at=now, last_error=f"{type(exc).__name__}: {exc}"[:2000])
        return 0


def _threshold_rule_evaluate(*, rule_id: int, now: datetime) -> int:
    rule = (
        AlertRule.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("team")
        .filter(pk=rule_id, kind=AlertRuleKind.THRESHOLD, enabled=True)
        .first()
    )
    if rule is None:
        return 0
    _statement_timeout()
    definition = rule.definition
    window = timedelta(minutes=int(definition["window_minutes"]))
    threshold = int(definition["threshold"])
    group_by = definition.get("group_by")
    time_field = definition.get("time_field", "created_at")
    aliases, condition = alert_filter(definition["conditions"], definition.get("match", "all"))
    matching = (
        Alert.objects.filter(team_id=rule.team_id)
        .exclude(source=AlertSource.RULE, type=definition["alert"]["type"])  # never count its own alerts
        .alias(**aliases)
        .filter(condition)
        .annotate(
            opsgroup=_field_expression(group_by) if group_by else F("type"),
            opstime=_field_expression(time_field),
        )
    )
    cursor = int(rule.state.get("cursor", 0))
    new_rows = list(
        matching.filter(Q(pk__gt=cursor) | Q(created_at__gte=now - RESCAN))
        .order_by("pk")
        .values_list("pk", "created_at", "opsgroup", "opstime")[:MAX_NEW_ALERTS]
    )
    fired = 0
    if new_rows:
        fired = _threshold_fire(
            rule, matching, new_rows, group_by=group_by, time_field=time_field, window=window, threshold=threshold
        )
        cursor = max(cursor, max(row[0] for row in new_rows))
    rule.state = {**rule.state, "cursor": cursor}
    rule.last_run_at = now
    rule.last_error = ""
    rule.save(update_fields=["state", "last_run_at", "last_error"])
    return fired


def _group_key(value: Any, grouped: bool) -> str | None:
    if not grouped:
        return ""
    if value is None or value == "":
        return None  # an alert without the group field belongs to no group
    return str(value)[:200]


def _threshold_fire(
    rule: AlertRule,
    matching: Any,
    new_rows: list[tuple[int, datetime, Any, Any]],
    *,
    group_by: str | None,
    time_field: str,
    window: timedelta,
    threshold: int,
) -> int:
    grouped = bool(group_by)
    touched = {key for row in new_rows if (key := _group_key(row[2], grouped)) is not None}
    if not touched:
        return 0
    earliest_created = min(row[1] for row in new_rows)
    candidates = matching
    if time_field == "created_at":
        latest = max(row[1] for row in new_rows)
        candidates = candidates.filter(created_at__gte=earliest_created - window, created_at__lte=latest + window)
    else:
        candidates = candidates.filter(created_at__gte=earliest_created - window - LATE_ARRIVAL)
    if grouped:
        candidates = candidates.filter(opsgroup__in=sorted(touched))
    rows = list(candidates.order_by("created_at", "pk").values_list("pk", "opsgroup", "opstime")[:MAX_CANDIDATES])
    if len(rows) >= MAX_CANDIDATES:
        logger.warning("threshold rule %s: candidate alerts capped at %s", rule.pk, MAX_CANDIDATES)
    points: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for pk, group_value, time_value in rows:
        key = _group_key(group_value, grouped)
        moment = _parse_instant(time_value)
        if key is not None and moment is not None:
            points[key].append((moment, pk))
    fired_starts: dict[str, list[datetime]] = defaultdict(list)
    for key, start in RuleFiring.objects.filter(rule=rule, group_key__in=points.keys()).values_list(
        "group_key", "window_start"
    ):
        fired_starts[key].append(start)
    fired = 0
    for key in sorted(points):
        series = sorted(points[key])
        windows = sweep_windows(series, group=key, window=window, threshold=threshold, fired=fired_starts[key])
        for found in windows:
            fired += _window_fire(rule, found, window=window, threshold=threshold)
    return fired


def _window_fire(rule: AlertRule, found: Window, *, window: timedelta, threshold: int) -> int:
    try:
        with transaction.atomic():
            firing = RuleFiring.objects.create(
                rule=rule,
                group_key=found.group,
                window_start=found.start,
                window_end=found.end,
                count=len(found.alert_ids),
            )
    except IntegrityError:
        return 0  # this window already fired (a concurrent or earlier run)
    values = {
        "group": found.group,
        "count": len(found.alert_ids),
        "threshold": threshold,
        "window_minutes": int(window.total_seconds() // 60),
        "window_start": found.start.isoformat(),
        "window_end": found.end.isoformat(),
        "rule": rule.name,
    }
    result = rule_alert_raise(
        rule=rule,
        values=values,
        default_dedup_key=f"rule:{rule.pk}:{found.group}" if found.group else f"rule:{rule.pk}",
        metadata={
            "group": found.group,
            "count": len(found.alert_ids),
            "window_start": values["window_start"],
            "window_end": values["window_end"],
            "alert_ids": list(found.alert_ids[:50]),
        },
        occurred_at=found.end if found.end < timezone.now() else None,
    )
    firing.alert = result.alert
    firing.save(update_fields=["alert"])
    return 1


def threshold_rules_evaluate(*, now: datetime | None = None) -> int:
    fired = 0
    rule_ids = AlertRule.objects.filter(kind=AlertRuleKind.THRESHOLD, enabled=True).values_list("pk", flat=True)
    for rule_id in list(rule_ids):
        fired += threshold_rule_evaluate(rule_id=rule_id, now=now)
    return fired


# --- time rules ------------------------------------------------------------------------


def time_rule_run(*, rule_id: int, now: datetime | None = None) -> bool:
    """Run a due time rule once; a run missed while the scheduler was down runs once, late."""
    from alerts.ops.summaries import summary_generate  # summaries imports rule helpers

    now = now or timezone.now()
    with transaction.atomic():
        rule = (
            AlertRule.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("team")
            .filter(pk=rule_id, kind=AlertRuleKind.TIME, enabled=True, next_run_at__lte=now)
            .first()
        )
        if rule is None:
            return False
        scheduled = rule.next_run_at or now
        firing, created = RuleFiring.objects.get_or_create(
            rule=rule, group_key="", window_start=scheduled, defaults={"window_end": now}
        )
        tz = zone(rule.team.timezone)
        if created:
            definition = rule.definition
            if definition["action"] == "summary":
                period = timedelta(hours=int(definition.get("period_hours", 24)))
                summary_generate(
                    team=rule.team, date=now.astimezone(tz).date(), period_start=now - period, period_end=now, rule=rule
                )
                AlertRule.objects.filter(pk=rule.pk).update(last_fired_at=now, fire_count=F("fire_count") + 1)
            else:
                local = scheduled.astimezone(tz)
                values = {
                    "date": local.date().isoformat(),
                    "time": local.strftime("%H:%M"),
                    "team": rule.team.name,
                    "rule": rule.name,
                }
                result = rule_alert_raise(
                    rule=rule,
                    values=values,
                    default_dedup_key=f"rule:{rule.pk}:{values['date']}",
                    metadata={"scheduled_at": scheduled.isoformat()},
                )
                firing.alert = result.alert
                firing.save(update_fields=["alert"])
        rule.next_run_at = time_rule_next_run(definition=rule.definition, timezone_name=rule.team.timezone, after=now)
        rule.last_run_at = now
        rule.save(update_fields=["next_run_at", "last_run_at"])
        return created


def time_rules_dispatch(*, now: datetime | None = None, limit: int = 200) -> int:
    now = now or timezone.now()
    due = AlertRule.objects.filter(kind=AlertRuleKind.TIME, enabled=True, next_run_at__lte=now).order_by("next_run_at")
    ran = 0
    for rule_id in list(due.values_list("pk", flat=True)[:limit]):
        try:
            ran += time_rule_run(rule_id=rule_id, now=now)
        except Exception as exc:
            logger.exception("time rule %s failed", rule_id)
            _time_rule_skip_failed_run(rule_id=rule_id, now=now, error=f"{type(exc).__name__}: {exc}")
    return ran


def _time_rule_skip_failed_run(*, rule_id: int, now: datetime, error: str) -> None:
    """Record the error and move to the next scheduled run, so a broken rule fails once
    per schedule instead of every minute."""
    rule = AlertRule.objects.select_related("team").filter(pk=rule_id).first()
    if rule is None:
        return
    try:
        next_run = time_rule_next_run(definition=rule.definition, timezone_name=rule.team.timezone, after=now)
    except Exception:
        next_run = None  # an unusable schedule stops the rule until it is edited
    AlertRule.objects.filter(pk=rule_id).update(last_run_at=now, next_run_at=next_run, last_error=error[:2000])
