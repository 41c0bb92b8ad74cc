"""The extraction benchmark's pages, scorers and train / held-apart split; standard library only.

Shared by ``bench/extraction.py``, its datatrove runner (``bench/extraction_datatrove_run.py``, which runs in
``bench/.venv-datatrove`` and imports this file by name) and any script that trains a learned part of an
extractor on these pages: they all must agree on which pages are "train" and which are "held-apart".

* ``load_eval_pages``: the 577 Trafilatura evaluation pages of ``shared/data/html_extraction_trafilatura_eval``
  (raw bytes as crawled, plus the hand-written ``with`` / ``without`` snippets), sorted by URL.
* ``snippet_scores``: Trafilatura's own evaluation, as ``tests/operators/web/test_extraction_quality.py`` scores
  it: per page, a ``with`` snippet is good when its whitespace-normalised text is in the whitespace-normalised
  output (a true positive; else a false negative), a ``without`` snippet is good when it is absent (a true
  negative; else a false positive). accuracy = good / all snippets; precision, recall and F1 over snippets.
* ``split_of``: ``int(sha256(url), 16) % 10 < 7`` is "train", the rest "held-apart" (385 / 192 of the 577
  pages), the rule of ``pipelines/tools/train_extraction_model.py`` (``tests/test_bench_extraction.py`` checks
  that both agree). Not sha1: the shared folder itself is the part of Trafilatura's 990 pages whose
  ``sha1(url) % 10`` is below 6 (its SOURCE.md), so ``sha1(url) % 10 < 7`` would put every shared page in
  "train" and leave nothing held apart.
* ``load_hplt_pages`` and ``token_scores``: the 100 Common Crawl pages of ``shared/data/cc_html_sample_hplt``
  and bag-of-tokens agreement with HPLT v2's extracted text (see ``tokens``).
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

REPO_ROOT = Path(__file__).resolve().parents[1]


def split_of(url: str) -> str:
    """The training tool's split, so the bench reports on exactly the pages the shipped model never saw.
    Imported when called: the datatrove runner loads this module in a venv without the project."""
    from pipelines.tools.train_extraction_model import split_of as training_split

    return training_split(url)

EVAL_DIR = "html_extraction_trafilatura_eval"
HPLT_FILE = os.path.join("cc_html_sample_hplt", "CC-sample100.jsonl.zst")
TRAIN, HELD_APART = "train", "held-apart"


def default_data_dir() -> Path:
    """``$MARCO_SHARED_DATA``, else ``shared/data`` beside the checkout (as ``tests/fixtures/shared_data.py``)."""
    return Path(os.environ.get("MARCO_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


# ------------------------------------------------------------------------------------------------- split


# ------------------------------------------------------------------------------------------ eval pages


@dataclass
class EvalPage:
    url: str  # the key of evaldata.json (some carry a "hard::" or similar prefix; used as given)
    raw: bytes  # the page as crawled, gunzipped
    expect_with: List[str] = field(default_factory=list)
    expect_without: List[str] = field(default_factory=list)
    lang: Optional[str] = None  # fastText's guess on the ``with`` snippets

    @property
    def split(self) -> str:
        return split_of(self.url)


def load_eval_pages(data_dir: Optional[Path] = None, urls: Optional[Iterable[str]] = None) -> List[EvalPage]:
    """The evaluation pages sorted by URL (only ``urls``, if given); FileNotFoundError if the folder is absent."""
    root = Path(data_dir or default_data_dir()) / EVAL_DIR
    with open(root / "evaldata.json", encoding="utf-8") as handle:
        data = json.load(handle)
    wanted = None if urls is None else set(urls)
    pages = []
    for url in sorted(data):
        if wanted is not None and url not in wanted:
            continue
        entry = data[url]
        raw = gzip.decompress((root / entry["file"]).read_bytes())
        pages.append(EvalPage(url, raw, list(entry.get("with", [])), list(entry.get("without", [])),
                              entry.get("lang_guess_fasttext")))
    return pages


def spread(items: Sequence, count: Optional[int]) -> list:
    """``count`` items taken evenly over ``items`` (all of them when count is None or not smaller)."""
    if count is None or count >= len(items):
        return list(items)
    return [items[i * len(items) // count] for i in range(count)]


# ----------------------------------------------------------------------------------------- snippet scores

_SPACE = re.compile(r"\s+")


def normalise(text: Optional[str]) -> str:
    """Runs of whitespace to one space, stripped (None and "" give "")."""
    return _SPACE.sub(" ", text or "").strip()


def page_counts(text: Optional[str], page: EvalPage) -> Dict[str, int]:
    """{tp, fn, fp, tn} of one page's snippets against the extracted ``text``."""
    found = normalise(text)
    tp = sum(normalise(s) in found for s in page.expect_with)
    fp = sum(normalise(s) in found for s in page.expect_without)
    return {"tp": tp, "fn": len(page.expect_with) - tp, "fp": fp, "tn": len(page.expect_without) - fp}


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def scores_from_counts(counts: Mapping[str, int]) -> Dict[str, float]:
    tp, fn, fp, tn = (counts[k] for k in ("tp", "fn", "fp", "tn"))
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {"accuracy": _ratio(tp + tn, tp + fn + fp + tn), "precision": precision, "recall": recall,
            "f1": _ratio(2 * precision * recall, precision + recall), "pages": counts.get("pages", 0),
            "snippets": tp + fn + fp + tn, "tp": tp, "fn": fn, "fp": fp, "tn": tn}


def snippet_scores(texts: Mapping[str, Optional[str]], pages: Sequence[EvalPage],
                   split: Optional[str] = None) -> Dict[str, float]:
    """accuracy, precision, recall, F1 (and the counts) over the pages (of ``split`` only, if given).

    ``texts`` maps each page's URL to the extracted text; a missing URL or None counts as empty output.
    """
    total = Counter(pages=0, tp=0, fn=0, fp=0, tn=0)
    for page in pages:
        if split is None or page.split == split:
            total.update(page_counts(texts.get(page.url), page))
            total["pages"] += 1
    return scores_from_counts(total)


# ------------------------------------------------------------------------------------------ HPLT pages


@dataclass
class HpltPage:
    url: str
    html: str  # as warc2text decoded it (already text: there are no raw bytes to decode)
    text: Optional[str]  # HPLT v2's extracted text (None on 2 of the 100 pages)
    lang: Optional[str]  # OpenLID's label


def load_hplt_pages(data_dir: Optional[Path] = None) -> List[HpltPage]:
    """The 100 HPLT pages in file order. Needs the ``zstandard`` package, imported here only."""
    import zstandard

    path = Path(data_dir or default_data_dir()) / HPLT_FILE
    with open(path, "rb") as handle:
        raw = zstandard.ZstdDecompressor().stream_reader(handle).read()
    pages = []
    for line in raw.splitlines():
        if line.strip():
            # One line holds invalid UTF-8 inside a JSON string (SOURCE.md): replace it.
            row = json.loads(line.decode("utf-8", errors="replace"))
            pages.append(HpltPage(row["u"], row["h"], row.get("t"), row.get("lang")))
    return pages


# Hiragana, Katakana, CJK ideographs (with extension A and the compatibility block): one token per character,
# since these scripts do not separate words by spaces. Everything else: maximal runs of word characters (\w,
# Unicode letters, digits and "_"), lower-cased. Hangul is spaced, so it stays in runs. Thai, Lao, Khmer and
# Myanmar are neither spaced nor split here (one run per phrase), which only lowers their agreement figures.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


def tokens(text: Optional[str]) -> List[str]:
    return _TOKEN.findall((text or "").lower())


def token_overlap(system: Optional[str], reference: Optional[str]) -> Dict[str, int]:
    """Multiset overlap of the two texts' tokens: {overlap, system, reference} token counts."""
    sys_tokens, ref_tokens = Counter(tokens(system)), Counter(tokens(reference))
    return {"overlap": sum((sys_tokens & ref_tokens).values()), "system": sum(sys_tokens.values()),
            "reference": sum(ref_tokens.values())}


def _prf(overlap: int, system: int, reference: int) -> Dict[str, float]:
    precision, recall = _ratio(overlap, system), _ratio(overlap, reference)
    return {"precision": precision, "recall": recall, "f1": _ratio(2 * precision * recall, precision + recall)}


def token_scores(texts: Mapping[str, Optional[str]], pages: Sequence[HpltPage]) -> Dict[str, float]:
    """Token precision / recall / F1 of ``texts`` (URL -> text) against HPLT's text: macro and micro.

    Pages whose HPLT text is empty are left out (``pages`` says how many count). Macro: the mean of the
    per-page figures (an empty output scores 0 on that page). Micro: from the summed token counts.
    """
    per_page = [token_overlap(texts.get(page.url), page.text) for page in pages if tokens(page.text)]
    if not per_page:
        return {"pages": 0}
    macro = [_prf(c["overlap"], c["system"], c["reference"]) for c in per_page]
    summed = {key: sum(c[key] for c in per_page) for key in ("overlap", "system", "reference")}
    micro = _prf(summed["overlap"], summed["system"], summed["reference"])
    out: Dict[str, float] = {"pages": len(per_page), "empty_outputs": sum(c["system"] == 0 for c in per_page)}
    for key in ("precision", "recall", "f1"):
        out[f"macro_{key}"] = sum(m[key] for m in macro) / len(macro)
        out[f"micro_{key}"] = micro[key]
    return out
