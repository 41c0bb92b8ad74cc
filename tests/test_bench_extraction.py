"""The extraction benchmark's scorers (bench/extraction_pages.py) on two real pages of each shared set."""

from __future__ import annotations

import pytest

from bench.extraction_pages import (
    HELD_APART,
    TRAIN,
    load_eval_pages,
    load_hplt_pages,
    page_counts,
    snippet_scores,
    split_of,
    spread,
    token_scores,
    tokens,
)
from tests.fixtures.shared_data import shared_path


@pytest.fixture(scope="module")
def two_eval_pages():
    data = shared_path("html_extraction_trafilatura_eval").parent
    pages = spread(load_eval_pages(data), 2)
    assert len(pages) == 2 and all(page.raw and page.expect_with and page.expect_without for page in pages)
    return pages


def test_snippet_scores_of_perfect_empty_and_everything_outputs(two_eval_pages):
    perfect = {page.url: "\n".join(page.expect_with) for page in two_eval_pages}
    empty = {page.url: None for page in two_eval_pages}
    everything = {page.url: "  ".join(page.expect_with + page.expect_without) for page in two_eval_pages}
    n_with = sum(len(page.expect_with) for page in two_eval_pages)
    n_without = sum(len(page.expect_without) for page in two_eval_pages)

    best = snippet_scores(perfect, two_eval_pages)
    assert best["tp"] == n_with and best["fn"] == 0 and best["pages"] == 2
    assert best["recall"] == 1.0 and best["snippets"] == n_with + n_without
    none = snippet_scores(empty, two_eval_pages)
    assert (none["tp"], none["fp"], none["tn"]) == (0, 0, n_without)
    assert none["accuracy"] == pytest.approx(n_without / (n_with + n_without)) and none["f1"] == 0.0
    every = snippet_scores(everything, two_eval_pages)
    assert (every["tp"], every["fp"]) == (n_with, n_without)
    assert every["accuracy"] == pytest.approx(n_with / every["snippets"])


def test_snippets_match_after_whitespace_normalisation(two_eval_pages):
    page = two_eval_pages[0]
    spaced = "\n\n".join("  " + "\t".join(snippet.split()) + " \n" for snippet in page.expect_with)
    assert page_counts(spaced, page)["tp"] == len(page.expect_with)


def test_trafilatura_output_scores_between_empty_and_perfect(two_eval_pages):
    trafilatura = pytest.importorskip("trafilatura")
    from operators.web.html_decoding import decode_html

    texts = {page.url: trafilatura.extract(decode_html(page.raw), deduplicate=False) for page in two_eval_pages}
    scores = snippet_scores(texts, two_eval_pages)
    assert 0.5 < scores["accuracy"] <= 1.0 and scores["tp"] > 0


def test_split_holds_pages_apart(two_eval_pages):
    data = shared_path("html_extraction_trafilatura_eval").parent
    urls = [page.url for page in load_eval_pages(data)]
    splits = [split_of(url) for url in urls]
    # The shared pages are the part of Trafilatura's 990 whose sha1(url) % 10 < 6: a sha1 rule would hold
    # none of them apart; sha256 holds 192 apart.
    assert splits.count(TRAIN) == 385 and splits.count(HELD_APART) == 192


def test_token_scores_on_hplt_pages():
    data = shared_path("cc_html_sample_hplt").parent
    pytest.importorskip("zstandard")
    pages = [page for page in load_hplt_pages(data) if page.text][:2]
    own = token_scores({page.url: page.text for page in pages}, pages)
    assert own["pages"] == 2 and own["macro_f1"] == 1.0 and own["micro_f1"] == 1.0
    half = {page.url: " ".join(tokens(page.text)[: len(tokens(page.text)) // 2]) for page in pages}
    scores = token_scores(half, pages)
    assert scores["macro_precision"] == 1.0 and 0.3 < scores["macro_recall"] < 0.7
    assert token_scores({}, pages)["macro_f1"] == 0.0 and token_scores({}, pages)["empty_outputs"] == 2


def test_tokens_split_cjk_per_character_and_lowercase():
    assert tokens("Hello, Wörld! 日本語テキスト 한국어 3.14") == [
        "hello", "wörld", "日", "本", "語", "テ", "キ", "ス", "ト", "한국어", "3", "14"]


def test_page_loaders_import_with_the_standard_library_alone():
    """bench/extraction_datatrove_run.py loads extraction_pages inside datatrove's own venv, where neither this
    project nor its dependencies are installed (python -S: no site-packages at all)."""
    import subprocess
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "bench"
    done = subprocess.run([sys.executable, "-S", "-c", "import extraction_pages; print(extraction_pages.EVAL_DIR)"],
                          cwd=bench, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "html_extraction_trafilatura_eval"
