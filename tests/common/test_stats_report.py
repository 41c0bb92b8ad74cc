"""report.html beside stats.json: its bars carry the run's exact counts, its table of dropped documents holds
a few sampled documents of each reason, and it renders in headless Chromium (a screenshot in which every
chart's bars and the dropped documents' table are visible)."""

import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from common.stats_report import COLORS, EXAMPLES_HEADER, EXAMPLES_PER_REASON
from pipelines.tools.demo_warc import build_demo_warc
from pipelines.web.config import load_config
from pipelines.web.curate import curate
from tests.fixtures.curated_output import read_stats


class _Bars(HTMLParser):
    def __init__(self):
        super().__init__()
        self.charts, self.current = {}, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "svg":
            self.current = self.charts.setdefault(attrs["id"], [])
        elif tag == "rect" and attrs.get("class") == "bar":
            self.current.append((attrs["data-label"], int(attrs["data-value"]), float(attrs["width"])))


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    warc = build_demo_warc(str(tmp_path_factory.mktemp("demo") / "demo.warc.gz"))
    out = tmp_path_factory.mktemp("curated")
    curate(load_config(None), [warc], str(out), in_process=True)
    return out


def test_report_bars_hold_the_statistics(curated):
    stats = read_stats(str(curated))
    parser = _Bars()
    parser.feed((curated / "report.html").read_text(encoding="utf-8"))
    funnel = parser.charts["funnel"]
    assert [label for label, _, _ in funnel] == ["input"] + [op["name"] for op in stats["operators"]]
    assert [value for _, value, _ in funnel] == [stats["operators"][0]["docs_in"]] + \
        [op["docs_out"] for op in stats["operators"]]
    drops = {label: value for label, value, _ in parser.charts["drops"]}
    assert drops == {f"{op['name']} / {reason}": n for op in stats["operators"] for reason, n in op["dropped"].items()}
    assert dict((label, value) for label, value, _ in parser.charts["languages"]) == stats["kept_per_language"]
    for bars in parser.charts.values():  # widths proportional to the counts
        peak = max(value for _, value, _ in bars)
        for _, value, width in bars:
            assert width == pytest.approx(520 * value / peak, abs=0.01)


class _Examples(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.inside, self.cell = [], False, None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == "drop-examples":
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag == "td":
            self.rows[-1].append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def test_report_shows_a_few_dropped_documents_of_every_reason(curated):
    import pyarrow.parquet as pq

    stats = read_stats(str(curated))
    parser = _Examples()
    parser.feed((curated / "report.html").read_text(encoding="utf-8"))
    rows = [row for row in parser.rows if row]
    shown = {row[0] for row in rows}
    assert shown == {f"{op['name']} / {reason}" for op in stats["operators"] for reason in op["dropped"]}
    sampled = {row["id"]: row for row in pq.read_table(curated / "_drops" / "drops.parquet").to_pylist()}
    for label, lang, doc_id, url, _signals, text in rows:
        row = sampled[doc_id]
        assert label == f"{row['operator']} / {row['reason']}" and (lang, url) == (row["lang"], row["url"])
        assert text == row["text"][:400] + ("…" if len(row["text"]) > 400 else "")
    assert max(sum(row[0] == label for row in rows) for label in shown) <= EXAMPLES_PER_REASON


def test_report_renders_in_headless_chromium(curated, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium not installed (make test installs it: apt package chromium)")
    from PIL import Image

    shot = tmp_path / "report.png"
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--screenshot={shot}", "--window-size=1000,3200", f"file://{curated / 'report.html'}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1000, 3200)
    colors = image.getcolors(maxcolors=1_000_000)
    counts = {rgb: n for n, rgb in colors}
    for chart, hex_color in {**COLORS, "drop examples": EXAMPLES_HEADER}.items():
        rgb = tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
        assert counts.get(rgb, 0) > 500, f"{chart}: not on the screenshot"
