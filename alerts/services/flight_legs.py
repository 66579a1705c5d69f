"""Flight-leg rows for ingestion: create-or-lock in one statement, save in one statement.

``legs_lock`` is ``INSERT … ON CONFLICT (team, key) DO UPDATE SET key = key RETURNING *``:
a new leg is inserted, an existing one is locked by the no-op update, and both come back
whole, in one round trip (before: find the known keys, insert the rest, ``SELECT … FOR
UPDATE``). Rows are written in key order, so concurrent ingests lock in the same order and
cannot deadlock; a leg another ingest is inserting at that moment is waited for, then locked.
The rows travel as one JSON document on PostgreSQL (``alertguardian.bulk_sql``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Field
from django.utils import timezone

from alertguardian.bulk_sql import column_name, rows_source
from alerts.flight_contract import FlightEventIn
from alerts.models import FlightStatus

# Fields an event carries over onto its leg when present.
COPIED_FIELDS = (
    "scheduled_arrival",
    "estimated_departure",
    "estimated_arrival",
    "actual_departure",
    "actual_arrival",
    "gate",
    "terminal",
    "diverted_to",
    "tail_number",
    "distance_miles",
)
# Fields an ingest changes on a leg (everything but its identity).
LEG_UPDATE_FIELDS = [
    "carrier",
    "destination",
    "status",
    "scheduled_departure",
    *COPIED_FIELDS,
    "reported_delay_minutes",
    "delay_minutes",
    "last_event_at",
    "last_event_type",
    "updated_at",
]


def legs_lock(*, team_id: int, events: Iterable[FlightEventIn]) -> dict[str, FlightStatus]:
    """The legs ``events`` touch, created where missing, locked until the transaction ends."""
    first_by_key: dict[str, FlightEventIn] = {}
    for event in events:
        first_by_key.setdefault(event.leg_key, event)
    if not first_by_key:
        return {}
    now = timezone.now()
    new_legs = [_new_leg(team_id, first_by_key[key], now) for key in sorted(first_by_key)]
    meta = FlightStatus._meta
    fields: list[Field[Any, Any]] = [meta.get_field(name) for name in new_legs[0]]  # type: ignore[misc]
    rows = [list(leg.values()) for leg in new_legs]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column_name(field)) for field in fields)
    key = quote("key")
    source, params = rows_source(fields, rows)
    returning = ", ".join(quote(column_name(field)) for field in meta.concrete_fields)
    sql = (
        # Only quoted model identifiers, column types and placeholders go into the text.
        f"INSERT INTO {quote(meta.db_table)} ({columns}) {source} "
        f"ON CONFLICT ({quote('team_id')}, {key}) DO UPDATE SET {key} = EXCLUDED.{key} "
        f"RETURNING {returning}"
    )
    return {leg.key: leg for leg in FlightStatus.objects.raw(sql, params)}


def _new_leg(team_id: int, event: FlightEventIn, now: Any) -> dict[str, Any]:
    """The columns a new leg is inserted with: its identity, and the NOT NULL columns without
    a database default (blank strings, status, updated_at). The others start NULL."""
    return {
        "team": team_id,
        "key": event.leg_key,
        "flight_number": event.flight_number,
        "carrier": event.carrier,
        "service_date": event.service_date,
        "origin": event.origin,
        "destination": event.destination,
        "scheduled_departure": event.scheduled_departure,
        "status": FlightStatus._meta.get_field("status").default,
        "gate": "",
        "terminal": "",
        "diverted_to": "",
        "tail_number": "",
        "last_event_type": "",
        "updated_at": now,
    }


def legs_save(legs: list[FlightStatus]) -> None:
    """Write back changed legs (rows this transaction holds locked): one UPDATE … FROM rows."""
    if not legs:
        return
    meta = FlightStatus._meta
    fields: list[Field[Any, Any]] = [meta.get_field(name) for name in ("id", *LEG_UPDATE_FIELDS)]  # type: ignore[misc]
    source, params = rows_source(fields, [[getattr(leg, field.attname) for field in fields] for leg in legs])
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    assignments = ", ".join(f"{quote(column_name(field))} = new.{quote(column_name(field))}" for field in fields[1:])
    sql = (
        f"UPDATE {table} SET {assignments} FROM ({source}) AS new "  # noqa: S608  (model columns only)
        f"WHERE {table}.{quote('id')} = new.{quote('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
