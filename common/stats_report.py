"""``report.html`` beside ``stats.json``: the run's statistics as three bar charts in one self-contained
page (inline SVG, no scripts, no network), readable in any browser or straight from object storage.

1. **Funnel**: documents into the first operator, then out of each operator in pipeline order.
2. **Drop reasons per operator**: one bar per (operator, reason), grouped by operator.
3. **Kept documents per language**.

Bars are scaled to the largest value of their chart; every bar carries its exact count as text. Below the
charts, two tables from the same statistics (present when there is something to show):

* **Inputs** (``id="inputs"``): per reading operator, the inputs that gave no documents, and the files of
  directory inputs skipped by name, with the first few names;
* **Samples** (``id="samples"``): per operator and drop reason, its count and the sampled document ids or
  file names (``samples`` in stats.json);
* **Dropped documents** (``id="drop-examples"``), where the run sampled them (``_drops/``): per operator and
  reason, a few of the dropped documents themselves: language, id, URL, the signals and the start of the text,
  all escaped (the page runs no scripts), so a person can judge in a browser whether a rule is right.
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


def _table(table_id: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>'


def input_rows(stats: dict) -> List[Tuple[str, str, str]]:
    """(what, count, first names): inputs without documents per reading operator, inputs skipped by name."""
    rows = []
    for op in stats["operators"]:
        files = op.get("files")
        if files and files.get("without_documents"):
            rows.append((f"{op['name']}: inputs that gave no documents",
                         f"{files['without_documents']:,} of {files['read']:,}", ", ".join(files.get("samples", []))))
    skipped = stats.get("inputs", {}).get("skipped")
    if skipped and skipped.get("count"):
        rows.append(("files of directory inputs skipped by name", f"{skipped['count']:,}",
                     ", ".join(skipped.get("samples", []))))
    return rows


def sample_rows(stats: dict) -> List[Tuple[str, str, str, str]]:
    """(operator, reason, count, samples) for every reason with samples."""
    return [(op["name"], reason, f"{op['dropped'].get(reason, 0):,}", ", ".join(values))
            for op in stats["operators"] for reason, values in sorted(op.get("samples", {}).items())]


EXAMPLES_PER_REASON = 3
EXAMPLES_HEADER = "#f2c94c"   # the drop examples' header row (the screenshot test looks for it)
EXAMPLE_TEXT_CHARS = 400


def drop_example_rows(stats: dict, drops) -> List[Tuple[str, str, str, str, str, str]]:
    """(operator / reason, lang, id, url, signals, text start) for a few sampled documents of every reason."""
    rows = []
    for op in stats["operators"]:
        for reason, _count in sorted(op["dropped"].items(), key=lambda item: -item[1]):
            for row in drops.examples(op["name"], reason, EXAMPLES_PER_REASON):
                text = row["text"][:EXAMPLE_TEXT_CHARS] + ("…" if len(row["text"]) > EXAMPLE_TEXT_CHARS else "")
                rows.append((f"{op['name']} / {reason}", row["lang"], row["id"], row["url"], row["signals"], text))
    return rows


def render(stats: dict, title: str, drops=None) -> str:
    """The page; ``drops``: the run's :class:`operators.drop_samples.DropSamples`, if it sampled any."""
    charts = [
        ("funnel", "Funnel: documents surviving each operator", funnel_rows(stats)),
        ("drops", "Drop reasons per operator", drop_rows(stats)),
        ("languages", "Kept documents per language", language_rows(stats)),
    ]
    body = []
    for chart_id, heading, rows in charts:
        body.append(f"<h2>{html.escape(heading)}</h2>")
        body.append(bar_chart(chart_id, heading, rows, COLORS[chart_id]))
    inputs, samples = input_rows(stats), sample_rows(stats)
    if inputs:
        body.append("<h2>Inputs</h2>")
        body.append(_table("inputs", ("what", "files", "first names"), inputs))
    if samples:
        body.append("<h2>Samples of each drop reason</h2>")
        body.append(_table("samples", ("operator", "reason", "documents", "samples"), samples))
    examples = drop_example_rows(stats, drops) if drops else []
    if examples:
        body.append("<h2>Dropped documents, a few of each reason (all sampled ones: _drops/drops.parquet)</h2>")
        body.append(_table("drop-examples", ("operator / reason", "lang", "id", "url", "signals", "text"),
                           examples))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
            f"<title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:24px}svg text{font-size:12px}h2{font-size:16px}"
            "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;"
            "text-align:left;vertical-align:top}td:last-child{word-break:break-all}"
            f"#drop-examples th{{background:{EXAMPLES_HEADER}}}#drop-examples td{{white-space:pre-wrap}}</style>"
            f"</head><body><h1>{html.escape(title)}</h1>\n" + "\n".join(body) + "\n</body></html>\n")


__all__ = ["render", "bar_chart", "funnel_rows", "drop_rows", "language_rows", "input_rows", "sample_rows",
           "drop_example_rows"]
