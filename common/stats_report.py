"""``report.html`` beside ``stats.json``: the run's statistics as three bar charts in one self-contained
page (inline SVG, no scripts, no network), readable in any browser or straight from object storage.

1. **Funnel**: documents into the first operator, then out of each operator in pipeline order.
2. **Drop reasons per operator**: one bar per (operator, reason), grouped by operator.
3. **Kept documents per language**.

Bars are scaled to the largest value of their chart; every bar carries its exact count as text.
"""

from __future__ import annotations

import html
from typing import List, Sequence, Tuple

BAR_HEIGHT = 18
GAP = 6
LABEL_WIDTH = 260
BAR_WIDTH = 520
COLORS = {"funnel": "#3b7dd8", "drops": "#d8573b", "languages": "#3ba776"}


def bar_chart(chart_id: str, title: str, rows: Sequence[Tuple[str, int]], color: str) -> str:
    """An SVG chart of horizontal bars with a label and a count each."""
    peak = max([value for _, value in rows] + [1])
    height = max(1, len(rows)) * (BAR_HEIGHT + GAP) + GAP
    parts = [f'<svg id="{chart_id}" class="chart" xmlns="http://www.w3.org/2000/svg" '
             f'width="{LABEL_WIDTH + BAR_WIDTH + 120}" height="{height}" role="img">',
             f"<title>{html.escape(title)}</title>"]
    for index, (label, value) in enumerate(rows):
        y = GAP + index * (BAR_HEIGHT + GAP)
        width = round(BAR_WIDTH * value / peak, 2)
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT - 5}" text-anchor="end">{html.escape(label)}</text>')
        parts.append(f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{BAR_HEIGHT}" '
                     f'fill="{color}" data-label="{html.escape(label)}" data-value="{value}"/>')
        parts.append(f'<text x="{LABEL_WIDTH + width + 6}" y="{y + BAR_HEIGHT - 5}">{value:,}</text>')
    if not rows:
        parts.append(f'<text x="{LABEL_WIDTH}" y="{BAR_HEIGHT}">none</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def funnel_rows(stats: dict) -> List[Tuple[str, int]]:
    operators = stats["operators"]
    if not operators:
        return []
    return [("input", operators[0]["docs_in"])] + [(op["name"], op["docs_out"]) for op in operators]


def drop_rows(stats: dict) -> List[Tuple[str, int]]:
    return [(f"{op['name']} / {reason}", count) for op in stats["operators"]
            for reason, count in sorted(op["dropped"].items(), key=lambda item: -item[1]) if count]


def language_rows(stats: dict) -> List[Tuple[str, int]]:
    return sorted(stats.get("kept_per_language", {}).items(), key=lambda item: (-item[1], item[0]))


def render(stats: dict, title: str) -> str:
    charts = [
        ("funnel", "Funnel: documents surviving each operator", funnel_rows(stats)),
        ("drops", "Drop reasons per operator", drop_rows(stats)),
        ("languages", "Kept documents per language", language_rows(stats)),
    ]
    body = []
    for chart_id, heading, rows in charts:
        body.append(f"<h2>{html.escape(heading)}</h2>")
        body.append(bar_chart(chart_id, heading, rows, COLORS[chart_id]))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
            f"<title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:24px}svg text{font-size:12px}h2{font-size:16px}</style>"
            f"</head><body><h1>{html.escape(title)}</h1>\n" + "\n".join(body) + "\n</body></html>\n")


__all__ = ["render", "bar_chart", "funnel_rows", "drop_rows", "language_rows"]
