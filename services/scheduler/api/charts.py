"""Inline SVG charts for the dashboard: plain markup, no scripts, no build step. Pure functions."""

from __future__ import annotations

from html import escape

from services.scheduler.analytics.domain.report_models import DayRow, StepRow, VariantRow

WIDTH = 640
_BLUE, _GREEN, _ORANGE, _GREY = "#2f6fdf", "#2a9d57", "#e08a1e", "#d9dee7"


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def funnel(steps: list[StepRow]) -> str:
    """Per step: contacts who reached it; for sends, delivered / opened / clicked bars beneath."""
    top = max([s.counts.reached for s in steps] + [1])
    row, label = 34, 130
    span = WIDTH - label - 60
    parts = [
        f'<svg class="chart funnel" role="img" aria-label="Funnel" width="{WIDTH}" height="{row * len(steps) + 8}">'
    ]
    for i, step in enumerate(steps):
        y = i * row + 4
        c = step.counts
        parts.append(f'<text x="0" y="{y + 14}" class="label">{escape(step.step_id)}</text>')
        parts.append(f'<rect x="{label}" y="{y}" width="{span * c.reached / top:.1f}" height="14" fill="{_GREY}"/>')
        parts.append(
            f'<text x="{label + span * c.reached / top + 4:.1f}" y="{y + 12}" class="value">{c.reached}</text>'
        )
        for j, (value, colour) in enumerate(((c.delivered, _BLUE), (c.opened, _GREEN), (c.clicked, _ORANGE))):
            if c.requested:
                width = span * value / top
                parts.append(f'<rect x="{label}" y="{y + 16 + j * 5}" width="{width:.1f}" height="4" fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)


def rates_over_time(days: list[DayRow]) -> str:
    """Open and click rate per send day."""
    height, left, bottom = 160, 40, 20
    if not days:
        return '<p class="empty">No messages yet.</p>'
    step = (WIDTH - left - 10) / max(len(days) - 1, 1)
    top = max([d.open_rate for d in days] + [d.click_rate for d in days] + [0.05])

    def point(i: int, rate: float) -> str:
        return f"{left + i * step:.1f},{height - bottom - (height - bottom - 10) * rate / top:.1f}"

    parts = [f'<svg class="chart rates" role="img" aria-label="Rates over time" width="{WIDTH}" height="{height}">']
    parts.append(f'<text x="0" y="14" class="axis">{_pct(top)}</text>')
    parts.append(f'<text x="0" y="{height - bottom}" class="axis">0%</text>')
    for name, colour in (("open_rate", _GREEN), ("click_rate", _ORANGE)):
        points = " ".join(point(i, getattr(d, name)) for i, d in enumerate(days))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for i, d in enumerate(days):
            x, y = point(i, getattr(d, name)).split(",")
            title = f"{d.day} {_pct(getattr(d, name))}"
            parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"><title>{title}</title></circle>')
    for i, d in enumerate(days):
        parts.append(f'<text x="{left + i * step:.1f}" y="{height - 4}" class="axis">{d.day:%m-%d}</text>')
    parts.append("</svg>")
    return "".join(parts)


def intervals(variants: list[VariantRow]) -> str:
    """Each variant's rate as a dot with its confidence interval as a whisker, on a shared scale."""
    row, label = 30, 60
    span = WIDTH - label - 80
    top = max([v.high for v in variants] + [0.05])
    parts = [
        f'<svg class="chart ab" role="img" aria-label="Variants" width="{WIDTH}" height="{row * len(variants) + 10}">'
    ]
    for i, v in enumerate(variants):
        y = i * row + 15
        x0, x1, x = (label + span * value / top for value in (v.low, v.high, v.rate))
        parts.append(f'<text x="0" y="{y + 4}" class="label">{escape(v.variant)}</text>')
        parts.append(f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y}" y2="{y}" stroke="{_BLUE}" stroke-width="2"/>')
        parts.append(f'<circle cx="{x:.1f}" cy="{y}" r="5" fill="{_BLUE}"/>')
        parts.append(f'<text x="{x1 + 6:.1f}" y="{y + 4}" class="value">{_pct(v.rate)}</text>')
    parts.append("</svg>")
    return "".join(parts)
