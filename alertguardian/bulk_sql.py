"""Row sources for hand-written multi-row statements (``INSERT INTO t (cols) <source> …``,
``UPDATE t SET … FROM (<source>) AS new …``).

On PostgreSQL the rows travel as one JSON document, read back with ``json_to_recordset``
into the columns' own types. Django binds parameters on the client (psycopg's
``ClientCursor``), escaping every value into the statement text: a 500-event batch was
tens of thousands of escaped literals (``VALUES``) or array elements (``UNNEST``), about
30 % of a batch's server CPU in ``py-spy`` (docs/benchmarks.md). One JSON string is
encoded and escaped in C, and the statement text stays the same whatever the number of
rows. Elsewhere (SQLite) it is one ``VALUES`` tuple per row, named by a SELECT. Values are
prepared by the model fields, as the ORM would.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import orjson
from django.db import connection
from django.db.models import Field

# Values json.dumps writes as they are (dates through _iso): the model field's preparation is
# skipped for them, it would return them unchanged (a 500-event batch has ~15,000 values).
_JSON_READY = frozenset({str, int, float, bool, type(None), datetime, date})


def rows_source(fields: Sequence[Field[Any, Any]], rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """``(sql, params)`` of a SELECT yielding ``rows`` (one value per field, in order) under
    the fields' column names: an INSERT's source, or ``FROM (<source>) AS new`` in an UPDATE."""
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        columns = [column_name(field) for field in fields]
        document = [
            {
                column: value if type(value) in _JSON_READY else field.get_prep_value(value)
                for column, field, value in zip(columns, fields, row, strict=True)
            }
            for row in rows
        ]
        return _json_rows_select(tuple(fields)), [_json_document(document)]
    # SQLite names VALUES columns column1, column2, …; ``WHERE true`` lets an upsert follow.
    names = ", ".join(f"column{i} AS {quote(column_name(field))}" for i, field in enumerate(fields, start=1))
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [
        field.get_db_prep_save(value, connection)
        for values in rows
        for field, value in zip(fields, values, strict=True)
    ]
    return f"SELECT {names} FROM (VALUES {', '.join([row] * len(rows))}) WHERE true", params  # noqa: S608


@functools.lru_cache(maxsize=64)
def _json_rows_select(fields: tuple[Field[Any, Any], ...]) -> str:
    """The statement text for these fields (the same few sets of fields, every request)."""
    quote = connection.ops.quote_name
    types = ", ".join(f"{quote(column_name(field))} {field.db_type(connection)}" for field in fields)
    return f"SELECT * FROM json_to_recordset(%s::json) AS rows({types}) WHERE true"  # noqa: S608  (model columns only)


def column_name(field: Field[Any, Any]) -> str:
    return field.column or field.name  # concrete fields always have a column; typed as optional


def _json_document(document: list[dict[str, Any]]) -> str:
    """orjson writes datetimes (RFC 3339, like ``isoformat``) and dates itself, in C. It
    refuses integers beyond 64 bits, which a sender's free-form JSON may hold: those
    documents take the standard library's way."""
    try:
        return orjson.dumps(document).decode()
    except TypeError:
        return json.dumps(document, default=_iso)


def _iso(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
