"""The scaling curves as one SVG file: no plotting library, so the benchmark needs nothing more."""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT, MARGIN = 300, 240, 48
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def scaling_svg(runs: list[dict]) -> str:
    """Throughput against worker processes (at the first order size), then throughput and cost
    per saga against lines per order (at the most workers)."""
    lines_first = min(run["lines"] for run in runs)
    by_workers = sorted((r for r in runs if r["lines"] == lines_first), key=lambda r: r["workers"])
    workers_most = max(run["workers"] for run in runs)
    by_lines = sorted((r for r in runs if r["workers"] == workers_most), key=lambda r: r["lines"])
    panels = [
        _panel(
            f"sagas/s, {lines_first} line(s) per order",
            "worker processes",
            [r["workers"] for r in by_workers],
            {"sagas/s": [r["sagas_per_second"] for r in by_workers]},
        ),
        _panel(
            f"sagas/s, {workers_most} worker process(es)",
            "lines per order",
            [r["lines"] for r in by_lines],
            {"sagas/s": [r["sagas_per_second"] for r in by_lines]},
        ),
        _panel(
            f"cost per saga, {workers_most} worker process(es)",
            "lines per order",
            [r["lines"] for r in by_lines],
            {
                "write transactions": [r["commits_per_saga"] for r in by_lines],
                "broker messages": [r["messages_per_saga"] for r in by_lines],
            },
        ),
    ]
    body = "".join(
        f'<g transform="translate({index * WIDTH},0)">{panel}</g>' for index, panel in enumerate(panels)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH * len(panels)}" height="{HEIGHT}" '
        f'font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="white"/>{body}</svg>\n'
    )


def _panel(title: str, x_label: str, xs: list[float], series: dict[str, list[float | None]]) -> str:
    values = [value for ys in series.values() for value in ys if value is not None]
    # Headroom above the highest point for the legend.
    top = max(values, default=1) * 1.4 or 1
    left, right, bottom = MARGIN, WIDTH - 16, HEIGHT - 36
    x_low, x_high = min(xs, default=0), max(xs, default=1)

    def x(value: float) -> float:
        return left + (right - left) * ((value - x_low) / (x_high - x_low) if x_high > x_low else 0.5)

    def y(value: float) -> float:
        return bottom - (bottom - 24) * value / top

    parts = [
        f'<text x="{left}" y="14" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333"/>',
        f'<line x1="{left}" y1="24" x2="{left}" y2="{bottom}" stroke="#333"/>',
        f'<text x="{(left + right) / 2}" y="{HEIGHT - 6}" text-anchor="middle">{escape(x_label)}</text>',
        f'<text x="{left - 4}" y="28" text-anchor="end">{top:.3g}</text>',
        f'<text x="{left - 4}" y="{bottom}" text-anchor="end">0</text>',
    ]
    parts += [f'<text x="{x(value)}" y="{bottom + 14}" text-anchor="middle">{value:g}</text>' for value in xs]
    for index, (name, ys) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        points = [(x(a), y(b)) for a, b in zip(xs, ys, strict=True) if b is not None]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{" ".join(f"{px:.1f},{py:.1f}" for px, py in points)}"/>'
        )
        parts += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>' for px, py in points]
        parts.append(
            f'<text x="{right - 4}" y="{40 + 14 * index}" text-anchor="end" fill="{colour}">{escape(name)}</text>'
        )
    return "".join(parts)
