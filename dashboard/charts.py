"""Charts drawn on the server as SVG: no script library, nothing fetched from anywhere else.

Each builder places shapes in a fixed coordinate space (the SVG ``viewBox``, which then scales to
its container); the templates under ``dashboard/charts/`` only draw what is computed here.
Colours come from CSS classes (``dashboard.css``), so the admin's dark mode applies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

WIDTH = 640
HEIGHT = 210
LEFT, RIGHT, TOP, BOTTOM = 46, 10, 10, 24
MAX_X_LABELS = 7
Y_TICKS = 4
ROW_HEIGHT = 22
LABEL_WIDTH = 190
NOTE_WIDTH = 150


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    css: str
    url: str = ""


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Line:
    css: str
    points: list[Point]

    @property
    def path(self) -> str:
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.points)


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"
    url: str = ""


@dataclass(frozen=True)
class LegendEntry:
    label: str
    css: str
    total: str
    url: str = ""


@dataclass
class Chart:
    title: str
    width: int = WIDTH
    height: int = HEIGHT
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    legend: list[LegendEntry] = field(default_factory=list)
    empty: bool = False
    note: str = ""

    @property
    def plot_left(self) -> int:
        return LEFT

    @property
    def plot_right(self) -> int:
        return self.width - RIGHT

    @property
    def plot_bottom(self) -> int:
        return self.height - BOTTOM


def nice_step(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is at least ``value``."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 2.5, 5, 10) if value <= step * magnitude)


def plain_number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.3g}"


def _y_axis(chart: Chart, highest: float, fmt: Callable[[float], str]) -> Callable[[float], float]:
    """Gridlines at round values, at most ``Y_TICKS`` of them above zero."""
    step = nice_step(highest / Y_TICKS)
    ticks = max(math.ceil(highest / step), 1)
    top = step * ticks
    plot_height = chart.plot_bottom - TOP
    chart.y_ticks = [
        Tick(chart.plot_bottom - plot_height * index / ticks, fmt(step * index)) for index in range(ticks + 1)
    ]
    return lambda value: chart.plot_bottom - plot_height * value / top


def _x_ticks(labels: Sequence[str], centre: Callable[[int], float]) -> list[Tick]:
    every = max(math.ceil(len(labels) / MAX_X_LABELS), 1)
    return [Tick(centre(index), label) for index, label in enumerate(labels) if index % every == 0]


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    values: Callable[[int, str], float],
    *,
    fmt: Callable[[float], str] = plain_number,
    total: Callable[[Series], str] | None = None,
) -> Chart:
    """One bar per label (a time bucket), stacked by series in the order given."""
    chart = Chart(title)
    columns = [[values(index, item.key) for item in series] for index in range(len(labels))]
    highest = max((sum(column) for column in columns), default=0)
    chart.empty = highest == 0
    y = _y_axis(chart, highest, fmt)
    slot = (chart.plot_right - LEFT) / max(len(labels), 1)
    gap = min(slot * 0.2, 4)
    for index, column in enumerate(columns):
        base = 0.0
        for item, value in zip(series, column, strict=True):
            if value <= 0:
                continue
            top, bottom = y(base + value), y(base)
            chart.rects.append(
                Rect(
                    LEFT + index * slot + gap / 2,
                    top,
                    slot - gap,
                    bottom - top,
                    item.css,
                    f"{labels[index]} · {item.label}: {fmt(value)}",
                )
            )
            base += value
    chart.x_ticks = _x_ticks(labels, lambda index: LEFT + (index + 0.5) * slot)
    chart.legend = [
        LegendEntry(item.label, item.css, total(item) if total else "", item.url) for item in series
    ]
    return chart


def lines(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    values: Callable[[int, str], float | None],
    *,
    fmt: Callable[[float], str] = plain_number,
) -> Chart:
    """One line per series; a label without a value (None) gets no point, and the line joins
    the points on either side of it."""
    chart = Chart(title)
    found = [value for index in range(len(labels)) for item in series if (value := values(index, item.key))]
    chart.empty = not found
    y = _y_axis(chart, max(found, default=0), fmt)
    slot = (chart.plot_right - LEFT) / max(len(labels), 1)
    for item in series:
        points = [
            Point(LEFT + (index + 0.5) * slot, y(value), f"{labels[index]} · {item.label}: {fmt(value)}")
            for index in range(len(labels))
            if (value := values(index, item.key)) is not None
        ]
        chart.lines.append(Line(item.css, points))
    chart.x_ticks = _x_ticks(labels, lambda index: LEFT + (index + 0.5) * slot)
    chart.legend = [LegendEntry(item.label, item.css, "", item.url) for item in series]
    return chart


@dataclass(frozen=True)
class Segment:
    value: float
    css: str
    title: str


@dataclass(frozen=True)
class Row:
    label: str
    segments: list[Segment]
    note: str
    url: str = ""


def horizontal_bars(
    title: str, rows: Sequence[Row], legend: Sequence[LegendEntry] = (), *, log_scale: bool = False
) -> Chart:
    """One bar per row, segments side by side, the note at the bar's end.

    With ``log_scale`` a bar's length follows the logarithm of its total, so rows that differ by
    orders of magnitude all stay visible; its segments still split it in proportion."""
    chart = Chart(title, height=TOP + ROW_HEIGHT * max(len(rows), 1) + 4, legend=list(legend))
    chart.empty = not rows
    if log_scale:
        chart.note = "Bar lengths on a log scale; hover a bar for its units."
    measure = (lambda total: math.log10(1 + total)) if log_scale else (lambda total: total)
    totals = [sum(segment.value for segment in row.segments) for row in rows]
    longest = max((measure(total) for total in totals), default=0) or 1
    room = chart.plot_right - LABEL_WIDTH - NOTE_WIDTH
    for index, (row, total) in enumerate(zip(rows, totals, strict=True)):
        top = TOP + index * ROW_HEIGHT
        chart.labels.append(Label(LABEL_WIDTH - 8, top + ROW_HEIGHT * 0.6, row.label, "end", row.url))
        x = float(LABEL_WIDTH)
        length = room * measure(total) / longest
        for segment in row.segments:
            width = length * segment.value / total if total else 0
            if width > 0:
                chart.rects.append(Rect(x, top + 3, width, ROW_HEIGHT - 8, segment.css, segment.title))
                x += width
        chart.labels.append(Label(x + 6, top + ROW_HEIGHT * 0.6, row.note))
    return chart


def compact_number(value: int) -> str:
    """``1234`` -> ``1.23k``, ``999999999`` -> ``1B``: short enough for a bar's note."""
    rounded = float(f"{value:.3g}")  # first, so that 999,999,999 reads 1B, not 1000M
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "k")):
        if abs(rounded) >= size:
            return f"{rounded / size:g}{suffix}"
    return str(value)
