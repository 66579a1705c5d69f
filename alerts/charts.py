"""Geometry for the stats page's inline SVG charts (no chart library, nothing loaded at run time).

Each builder turns stats rows into coordinates; ``templates/board/stats.html`` draws them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from alerts.stats import SEVERITIES, AirportCount, DayResponse, HourBucket

WIDTH = 960
HEIGHT = 260
LEFT = 64
RIGHT = 12
TOP = 12
BOTTOM = 30


def nice_ceiling(value: float) -> float:
    """The smallest 1/2/5 x 10^k at or above ``value`` (an axis maximum people can read)."""
    if value <= 0:
        return 1
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return float(candidate)
    return float(10 ** (exponent + 1))


@dataclass
class Tick:
    y: float
    label: str


def axis(largest: float, *, integer: bool = False) -> tuple[float, float]:
    """(top, step) of a y axis: a readable step (1/2/5 x 10^k) giving about four gridlines."""
    step = nice_ceiling(largest / 4) if largest > 0 else 1.0
    if integer:  # counts: no gridline at 2.5 alerts
        step = max(step, 1.0)
    return max(math.ceil(largest / step), 1) * step, step


def _ticks(top: float, step: float, plot_height: float, fmt: Any = lambda v: f"{v:g}") -> list[Tick]:
    count = round(top / step)
    return [
        Tick(y=round(TOP + plot_height - plot_height * i / count, 2), label=fmt(step * i)) for i in range(count + 1)
    ]


@dataclass
class Segment:
    severity: str
    y: float
    height: float
    count: int


@dataclass
class Bar:
    x: float
    width: float
    label: str
    title: str
    total: int
    segments: list[Segment] = field(default_factory=list)


@dataclass
class StackedBarChart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[Tick]
    baseline: float
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT


def hourly_severity_chart(buckets: list[HourBucket]) -> StackedBarChart:
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    maximum, step = axis(max((b.total for b in buckets), default=0), integer=True)
    slot = plot_width / max(len(buckets), 1)
    bars: list[Bar] = []
    for index, bucket in enumerate(buckets):
        y = float(TOP + plot_height)
        segments: list[Segment] = []
        for severity in SEVERITIES:  # critical at the bottom, where the eye starts
            count = bucket.counts.get(severity, 0)
            if not count:
                continue
            height = plot_height * count / maximum
            y -= height
            segments.append(Segment(severity=severity, y=round(y, 2), height=round(height, 2), count=count))
        parts = ", ".join(f"{bucket.counts.get(s, 0)} {s}" for s in SEVERITIES if bucket.counts.get(s, 0))
        bars.append(
            Bar(
                x=round(LEFT + index * slot + slot * 0.15, 2),
                width=round(slot * 0.7, 2),
                label=bucket.start.strftime("%H:00") if index % 3 == 0 else "",
                title=f"{bucket.start:%H:00}: {bucket.total} alert(s)" + (f" ({parts})" if parts else ""),
                total=bucket.total,
                segments=segments,
            )
        )
    return StackedBarChart(
        width=WIDTH, height=HEIGHT, bars=bars, ticks=_ticks(maximum, step, plot_height), baseline=TOP + plot_height
    )


@dataclass
class Point:
    x: float
    y: float
    title: str


@dataclass
class Series:
    name: str
    css: str
    points: list[Point]
    paths: list[str]


@dataclass
class LineChart:
    width: int
    height: int
    series: list[Series]
    ticks: list[Tick]
    x_labels: list[tuple[float, str]]
    baseline: float
    unit: str
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT


def _minutes(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / 60


def format_minutes(minutes: float) -> str:
    if minutes >= 120:
        return f"{minutes / 60:g} h" if (minutes / 60).is_integer() else f"{minutes / 60:.1f} h"
    if minutes.is_integer() or minutes >= 10:
        return f"{minutes:.0f} min"
    return f"{minutes:.1f} min"


def response_times_chart(days: list[DayResponse]) -> LineChart:
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [v for d in days for v in (_minutes(d.mean_ack), _minutes(d.mean_resolve)) if v is not None]
    maximum, tick_step = axis(max(values, default=0))
    step = plot_width / max(len(days) - 1, 1)

    def build(name: str, css: str, attr: str) -> Series:
        points: list[Point] = []
        paths: list[str] = []
        run: list[str] = []
        for index, day in enumerate(days):
            minutes = _minutes(getattr(day, attr))
            if minutes is None:  # a day without data breaks the line rather than inventing a value
                if len(run) > 1:
                    paths.append(" ".join(run))
                run = []
                continue
            x, y = LEFT + index * step, TOP + plot_height - plot_height * minutes / maximum
            points.append(
                Point(x=round(x, 2), y=round(y, 2), title=f"{day.day:%a %d %b}: {name} {format_minutes(minutes)}")
            )
            run.append(f"{'M' if not run else 'L'}{x:.2f},{y:.2f}")
        if len(run) > 1:
            paths.append(" ".join(run))
        return Series(name=name, css=css, points=points, paths=paths)

    return LineChart(
        width=WIDTH,
        height=HEIGHT,
        series=[build("time to acknowledge", "ack", "mean_ack"), build("time to resolve", "resolve", "mean_resolve")],
        ticks=_ticks(maximum, tick_step, plot_height, fmt=format_minutes),
        x_labels=[(round(LEFT + i * step, 2), f"{d.day:%d %b}") for i, d in enumerate(days) if i % 2 == 0],
        baseline=TOP + plot_height,
        unit="minutes",
    )


@dataclass
class HBar:
    code: str
    name: str
    alerts: int
    percent: float  # of the widest bar; drawn with HTML/CSS so labels stay readable on phones


def airports_chart(airports: list[AirportCount]) -> list[HBar]:
    maximum = max((a.alerts for a in airports), default=1)
    return [
        HBar(code=a.code, name=a.name, alerts=a.alerts, percent=round(max(100 * a.alerts / maximum, 1.0), 1))
        for a in airports
    ]
