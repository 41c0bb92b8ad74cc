"""report.html beside stats.json: its bars carry the run's exact counts, and it renders in headless
Chromium (a screenshot in which every chart's bars are visible)."""

import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from common.stats_report import COLORS
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


def test_report_renders_in_headless_chromium(curated, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium not installed (make test installs it: apt package chromium)")
    from PIL import Image

    shot = tmp_path / "report.png"
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--screenshot={shot}", "--window-size=1000,2200", f"file://{curated / 'report.html'}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1000, 2200)
    colors = image.getcolors(maxcolors=1_000_000)
    counts = {rgb: n for n, rgb in colors}
    for chart, hex_color in COLORS.items():
        rgb = tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
        assert counts.get(rgb, 0) > 500, f"{chart}: its bars are not on the screenshot"
