"""Small server-side SVG charts (no JavaScript, no CDN): horizontal bars, a stacked bar and a rate gauge.

Each chart is an <svg role="img"> labelled by its own <title> and <desc>, and each bar or segment carries
a <title> with its label and value, so a screen reader (and a mouse hover) reads the figures.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from app.core.i18n import gettext

PALETTE = ("#2b6cb0", "#38a169", "#d69e2e", "#c53030", "#805ad5", "#718096", "#dd6b20", "#319795")
_ids = itertools.count(1)


def _head(width: int, height: int, title: str, desc: str) -> tuple[str, str]:
    n = next(_ids)
    t, d = f"chart-{n}-title", f"chart-{n}-desc"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" aria-labelledby="{t} {d}">'
            f'<title id="{t}">{escape(title)}</title><desc id="{d}">{escape(desc)}</desc>'), "</svg>"


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def bar_chart(title: str, items: Sequence[tuple[str, float]], *, width: int = 640, unit: str = "") -> Markup:
    """Draw one horizontal bar per (label, value), longest first as given."""
    row, label_w, top = 26, 190, 8
    height = top * 2 + row * max(1, len(items))
    desc = "；".join(f"{label}：{_fmt(value)}{unit}" for label, value in items) or gettext("无数据")
    head, tail = _head(width, height, title, desc)
    top_value = max((v for _, v in items), default=0) or 1
    bar_w = width - label_w - 70
    parts = [head]
    if not items:
        parts.append(f'<text x="8" y="{top + 16}" class="chart-empty">{escape(gettext("无数据"))}</text>')
    for i, (label, value) in enumerate(items):
        y = top + i * row
        w = max(0.0, bar_w * value / top_value)
        short = label if len(label) <= 12 else label[:11] + "…"
        parts.append(
            f'<g><title>{escape(label)}：{escape(_fmt(value))}{escape(unit)}</title>'
            f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end" class="chart-label">{escape(short)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" rx="2" fill="{PALETTE[0]}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" class="chart-value">{escape(_fmt(value))}{escape(unit)}</text>'
            "</g>")
    parts.append(tail)
    return Markup("".join(parts))


def stacked_bar(title: str, segments: Sequence[tuple[str, float]], *, width: int = 640) -> Markup:
    """Draw one bar split into segments (label, value) with a legend below it."""
    bar_h, legend_row = 28, 22
    per_row = 3
    height = bar_h + 16 + legend_row * math.ceil(max(1, len(segments)) / per_row)
    total = sum(v for _, v in segments)
    desc = "；".join(f"{label}：{_fmt(value)}" for label, value in segments) + f"；{gettext('合计')}：{_fmt(total)}"
    head, tail = _head(width, height, title, desc)
    parts = [head]
    x = 0.0
    if total == 0:
        parts.append(f'<rect x="0" y="0" width="{width}" height="{bar_h}" fill="#edf2f7"/>'
                     f'<text x="8" y="19" class="chart-empty">{escape(gettext("无数据"))}</text>')
    for i, (label, value) in enumerate(segments):
        color = PALETTE[i % len(PALETTE)]
        if total:
            w = width * value / total
            parts.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{bar_h}" fill="{color}">'
                         f'<title>{escape(label)}：{escape(_fmt(value))}</title></rect>')
            x += w
        lx, ly = (i % per_row) * (width // per_row), bar_h + 14 + (i // per_row) * legend_row
        parts.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{color}"/>'
                     f'<text x="{lx + 18}" y="{ly}" class="chart-label">{escape(label)}：{escape(_fmt(value))}</text>')
    parts.append(tail)
    return Markup("".join(parts))


def gauge(title: str, rate: float | None, *, size: int = 180, caption: str = "") -> Markup:
    """Draw a half-circle gauge of a percentage (None: no figure yet)."""
    r, cx, cy = size / 2 - 14, size / 2, size / 2 + 4
    height = int(size / 2 + 44)
    desc = f"{_fmt(rate)}%" if rate is not None else gettext("暂无应答复的申请")
    head, tail = _head(size, height, title, f"{desc}{('，' + caption) if caption else ''}")

    def point(fraction: float) -> tuple[float, float]:
        angle = math.pi * (1 - fraction)
        return cx + r * math.cos(angle), cy - r * math.sin(angle)

    x0, y0 = point(0)
    x1, y1 = point(1)
    parts = [head, f'<path d="M {x0:.1f} {y0:.1f} A {r:.1f} {r:.1f} 0 0 1 {x1:.1f} {y1:.1f}" fill="none" '
                   f'stroke="#e2e8f0" stroke-width="16"/>']
    if rate is not None and rate > 0:
        xr, yr = point(min(rate, 100) / 100)
        color = PALETTE[1] if rate >= 90 else PALETTE[2] if rate >= 60 else PALETTE[3]
        parts.append(f'<path d="M {x0:.1f} {y0:.1f} A {r:.1f} {r:.1f} 0 0 1 {xr:.1f} {yr:.1f}" fill="none" '
                     f'stroke="{color}" stroke-width="16"/>')
    parts.append(f'<text x="{cx}" y="{cy - 6}" text-anchor="middle" class="chart-big">{escape(desc if rate is not None else "—")}</text>')
    if caption:
        parts.append(f'<text x="{cx}" y="{cy + 24}" text-anchor="middle" class="chart-label">{escape(caption)}</text>')
    parts.append(tail)
    return Markup("".join(parts))
