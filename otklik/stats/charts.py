"""Charts as inline SVG built on the server (no JavaScript): every bar and point is a link to the incidents behind it.

Each builder takes plain rows (label, value, link, tooltip) and returns safe markup sized by its `viewBox`, so it
scales to the width of its card. Text is escaped here; colours come from a fixed palette.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#0d6efd", "#fd7e14", "#198754", "#6f42c1", "#d63384", "#20c997", "#ffc107", "#6c757d", "#0dcaf0")
OTHER_COLOUR = "#adb5bd"
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


@dataclass(frozen=True)
class Segment:
    value: float
    colour: str
    href: str
    title: str


@dataclass(frozen=True)
class Column:
    label: str
    segments: list[Segment] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(s.value for s in self.segments)


@dataclass(frozen=True)
class Point:
    label: str
    value: float | None
    href: str
    title: str


@dataclass(frozen=True)
class HBar:
    label: str
    value: float
    text: str
    href: str
    title: str
    colour: str = PALETTE[0]


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")  # Russian decimal comma


def _svg(width: int, height: int, label: str, body: list[str]) -> SafeString:
    return mark_safe(  # noqa: S308 (every text inside is escaped by the builders)
        f'<svg class="stats-chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" {FONT}>' + "".join(body) + "</svg>"
    )


def _link(href: str, title: str, inner: str) -> str:
    return f'<a href="{escape(href)}"><title>{escape(title)}</title>{inner}</a>'


def _label_every(count: int, room: int) -> int:
    """Show every n-th label along the x axis so they do not overlap."""
    return max(1, -(-count // room))


def stacked_columns(columns: list[Column], *, label: str, width: int = 720, height: int = 220) -> SafeString:
    """Vertical bars, one per column (a day), stacked by segment (a group)."""
    left, bottom, top = 34, 22, 8
    plot_h = height - bottom - top
    peak = max((c.total for c in columns), default=0) or 1
    step = (width - left - 4) / max(1, len(columns))
    bar_w = max(2.0, step * 0.75)
    every = _label_every(len(columns), 14)
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" stroke="#ced4da"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" fill="#6c757d">{_num(peak)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" fill="#6c757d">0</text>',
    ]
    for index, column in enumerate(columns):
        x = left + index * step + (step - bar_w) / 2
        y = float(top + plot_h)
        for segment in column.segments:
            if segment.value <= 0:
                continue
            h = plot_h * segment.value / peak
            y -= h
            rect = f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{segment.colour}"/>'
            body.append(_link(segment.href, segment.title, rect))
        if index % every == 0:
            body.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 6}" text-anchor="middle" fill="#6c757d">'
                f"{escape(column.label)}</text>"
            )
    return _svg(width, height, label, body)


def line_with_reference(
    points: list[Point],
    *,
    label: str,
    reference: float | None,
    reference_label: str,
    as_percent: bool = False,
    width: int = 720,
    height: int = 200,
) -> SafeString:
    """A line through the points that have a value, and a dashed horizontal reference (a target or a baseline)."""
    left, bottom, top = 40, 22, 10
    plot_h = height - bottom - top
    values = [p.value for p in points if p.value is not None]
    peak = max([*values, reference or 0.0, 0.0]) * 1.15 or 1.0
    right = 24  # room for the last label, centred on its point
    step = (width - left - right) / max(1, len(points) - 1) if len(points) > 1 else 0
    every = _label_every(len(points), 14)

    def fmt(value: float) -> str:
        return f"{round(value * 100)} %" if as_percent else _num(value)

    def xy(index: int, value: float) -> tuple[float, float]:
        return left + index * step, top + plot_h - plot_h * value / peak

    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" stroke="#ced4da"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" fill="#6c757d">{fmt(peak)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" fill="#6c757d">0</text>',
    ]
    if reference is not None:
        _x, ry = xy(0, reference)
        body.append(
            f'<line class="stats-reference" x1="{left}" y1="{ry:.1f}" x2="{width}" y2="{ry:.1f}" stroke="#dc3545" '
            f'stroke-dasharray="6 4"/><text x="{width - 4}" y="{ry - 4:.1f}" text-anchor="end" fill="#dc3545">'
            f"{escape(reference_label)}: {fmt(reference)}</text>"
        )
    run: list[str] = []
    for index, point in enumerate(points):
        if point.value is None:
            if len(run) > 1:
                body.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>')
            run = []
            continue
        x, y = xy(index, point.value)
        run.append(f"{x:.1f},{y:.1f}")
    if len(run) > 1:
        body.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>')
    for index, point in enumerate(points):
        if point.value is not None:
            x, y = xy(index, point.value)
            circle = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{PALETTE[0]}"/>'
            body.append(_link(point.href, f"{point.title}: {fmt(point.value)}", circle))
        if index % every == 0:
            x, _y = xy(index, 0)
            body.append(
                f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle" fill="#6c757d">{escape(point.label)}</text>'
            )
    return _svg(width, height, label, body)


def ranked_bars(bars: list[HBar], *, label: str, peak: float | None = None, width: int = 520) -> SafeString:
    """Horizontal bars, one per row in the given order, with the label on the left and the value on the right."""
    row_h, label_w, value_w = 22, 210, 56
    height = max(row_h, row_h * len(bars)) + 4
    peak = peak or max((b.value for b in bars), default=0) or 1
    plot_w = width - label_w - value_w
    body: list[str] = []
    for index, bar in enumerate(bars):
        y = 2 + index * row_h
        w = max(1.0, plot_w * bar.value / peak) if bar.value > 0 else 0
        name = bar.label if len(bar.label) <= 27 else bar.label[:26] + "…"  # the full name is in the tooltip
        inner = (
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" fill="#212529">{escape(name)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{plot_w}" height="{row_h - 6}" fill="#f1f3f5"/>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{bar.colour}"/>'
            f'<text x="{width - 4}" y="{y + 15}" text-anchor="end" fill="#212529">{escape(bar.text)}</text>'
        )
        body.append(_link(bar.href, bar.title, inner))
    return _svg(width, height, label, body)
