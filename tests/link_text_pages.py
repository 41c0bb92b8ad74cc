"""Real boilerplate: the link texts of the Common Crawl pages in shared/data/cc_html_sample_hplt that
HPLT's extractor left out of the page's main text (menus, headers, footers, tag clouds), grouped into
documents of up to 25 lines, by the page's OpenLID language."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Dict, List

import lxml.html
import zstandard

from tests.shared_data import shared_path

LINES_PER_DOCUMENT = 25
MIN_LINES = 10
OPENLID_TO_OURS = {"eng_Latn": "en", "deu_Latn": "de", "spa_Latn": "es", "jpn_Jpan": "ja", "rus_Cyrl": "ru",
                   "zho_Hant": "zh", "zho_Hans": "zh", "kor_Hang": "ko", "ron_Latn": "ro", "fra_Latn": "fr",
                   "ita_Latn": "it", "por_Latn": "pt", "arb_Arab": "ar", "nld_Latn": "nl", "ces_Latn": "cs"}


def _pages() -> List[dict]:
    path = shared_path("cc_html_sample_hplt", "CC-sample100.jsonl.zst")
    with open(path, "rb") as handle:
        raw = zstandard.ZstdDecompressor().stream_reader(handle).read()
    return [json.loads(line.decode("utf-8", "replace")) for line in raw.splitlines() if line.strip()]


def link_texts(html: str, main_text: str) -> List[str]:
    """Distinct link texts with a letter in them that are not part of the main text, in page order."""
    tree = lxml.html.fromstring(html.encode("utf-8", "replace"))
    for node in tree.xpath("//script|//style|//noscript"):
        node.drop_tree()
    seen, texts = set(), []
    for anchor in tree.xpath("//a"):
        text = " ".join(anchor.text_content().split())
        if text and text not in seen and text not in main_text and any(ch.isalpha() for ch in text):
            seen.add(text)
            texts.append(text)
    return texts


def link_text_documents() -> Dict[str, List[str]]:
    """{lang: documents}; a page's last chunk joins only when it has at least MIN_LINES lines."""
    documents: Dict[str, List[str]] = defaultdict(list)
    for page in _pages():
        lang = OPENLID_TO_OURS.get(page.get("lang") or "")
        if lang is None or not page.get("h"):
            continue
        texts = link_texts(page["h"], page.get("t") or "")
        for start in range(0, len(texts), LINES_PER_DOCUMENT):
            chunk = texts[start:start + LINES_PER_DOCUMENT]
            if len(chunk) >= MIN_LINES:
                documents[lang].append("\n".join(chunk))
    return dict(documents)
