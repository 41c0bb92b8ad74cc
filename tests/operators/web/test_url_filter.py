"""URL filter on real crawl URLs and on the kinds of sites the paper removes."""

from __future__ import annotations

import pyarrow as pa
import pytest

from operators.web.url_filter import UrlFilter, UrlFilterConfig
from operators.web.warc_reader import WarcReader, WarcReaderConfig
from tests.fixtures.shared_data import shared_path


@pytest.fixture(scope="module")
def url_filter():
    f = UrlFilter(UrlFilterConfig())
    f.setup()
    return f


@pytest.mark.parametrize(
    "url, reason",
    [
        ("https://www.pornhub.com/view_video.php?viewkey=1", "url_blocked_domain"),
        ("http://de.xhamster.com/videos/x", "url_blocked_domain"),
        ("https://sports.bet365.com/en/", "url_blocked_domain"),
        ("http://www.best-online-casino-bonus.net/slots/free-spins", "url_banned_word"),
        ("https://porno-kategorie.example.org/", "url_banned_word"),
        ("https://example.org/porno/xxx-videos", "url_soft_words"),
        ("https://example.org/online-casino-bonus", "url_soft_words"),
        ("http://mobile.abc.net.au/news/2014-09-04/christmas-island-casino-developing-the-north-committee/5719108", None),
        ("https://freepornsite.example/", "url_banned_word"),
        ("https://example.com/online-slots-jackpot", "url_soft_words"),
        ("https://www.essex.gov.uk/sussex-and-middlesex-sexton-records", None),
        ("https://en.wikipedia.org/wiki/Poker", None),
        ("https://www.bbc.co.uk/news/world-europe-12345", None),
        ("https://pornhub.com.evil-lookalike.example/", "url_banned_word"),
        (None, None),
    ],
)
def test_reason_per_url(url_filter, url, reason):
    assert url_filter.reason_for(url) == reason


def test_real_crawl_urls_are_almost_all_kept(url_filter):
    urls = []
    for name in ("CC-MAIN-2020-34_excerpt_resiliparse.warc.gz", "dolma-wget-sample-0000.warc.gz",
                 "ukwa-BL-20140325121225068-00000-32090-opera-8443.warc.gz"):
        for outcome in WarcReader(WarcReaderConfig()).read(str(shared_path("warc", name))):
            urls.extend(outcome.table.column("url").to_pylist())
    reasons = url_filter.reasons(pa.table({"url": urls}))
    assert len(urls) > 100
    assert [u for u, r in zip(urls, reasons) if r is not None] == []


def test_lists_are_replaceable(tmp_path):
    domains = tmp_path / "domains.txt"
    domains.write_text("# mine\nexample.org\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    f = UrlFilter(UrlFilterConfig(blocked_domains_path=str(domains), banned_words_path=str(empty),
                                  banned_subwords_path=str(empty), soft_words_path=str(empty)))
    f.setup()
    assert f.reason_for("https://news.example.org/a") == "url_blocked_domain"
    assert f.reason_for("https://casino.example.com/") is None
