"""Train the fast extraction engine's block classifier (operators/web/fast_extract/) from the shared pages.

Labels, per block of a page:
* *gold*, on the Trafilatura evaluation pages of the training split: a block holding a ``with`` snippet (or
  held inside one) is main content; a block holding a ``without`` snippet is not;
* *silver* elsewhere: a block is main content when trafilatura's own extraction (precision mode, as the
  trafilatura engine runs it) contains its text. Silver labels come from every HTML page of the shared WARCs
  and the HPLT sample too, so the model sees more sites than the evaluation set has.

The held-apart split (sha256(url) mod 10 >= 7 of the evaluation pages, the same rule ``bench/extraction.py``
reports) is never trained on; the tool prints snippet accuracy on both splits. The model is a gradient-
boosted tree ensemble (scikit-learn's HistGradientBoostingClassifier, a dev dependency), exported to a small
``.npz`` that the engine evaluates with numpy alone.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import numpy as np

from operators.web.fast_extract.extractor import block_probabilities, extract_blocks
from operators.web.fast_extract.features import FEATURE_NAMES
from operators.web.fast_extract.model import DEFAULT_MODEL, BlockModel, save_block_model
from operators.web.html_decoding import decode_html

_SPACE = re.compile(r"\s+")
EVAL_FOLDER = "html_extraction_trafilatura_eval"
HPLT_FILE = "cc_html_sample_hplt/CC-sample100.jsonl.zst"
MAX_NODES = 100_000


def norm(text: Optional[str]) -> str:
    return _SPACE.sub(" ", text or "").strip()


def split_of(url: str) -> str:
    """'train' or 'held-apart' for a page of the Trafilatura evaluation set: sha256(url) mod 10 < 7 trains.
    (Not sha1: the shared pages are those with sha1(url) mod 10 < 6, so sha1 would put them all in one split.)"""
    return "train" if int(hashlib.sha256(url.encode("utf-8")).hexdigest(), 16) % 10 < 7 else "held-apart"


@dataclass
class LabelledPage:
    url: str
    html: str
    source: str                      # eval | warc | hplt
    split: str                       # train | held-apart
    with_snippets: List[str] = field(default_factory=list)
    without_snippets: List[str] = field(default_factory=list)


def eval_pages(shared: Path) -> List[LabelledPage]:
    root = shared / EVAL_FOLDER
    data = json.loads((root / "evaldata.json").read_text(encoding="utf-8"))
    pages = []
    for url, entry in sorted(data.items()):
        html = decode_html(gzip.decompress((root / entry["file"]).read_bytes()))
        pages.append(LabelledPage(url, html, "eval", split_of(url), list(entry.get("with", [])),
                                  list(entry.get("without", []))))
    return pages


def warc_pages(shared: Path) -> List[LabelledPage]:
    from operators.web.warc_reader import WarcReader, WarcReaderConfig

    reader = WarcReader(WarcReaderConfig())
    pages = []
    for path in sorted((shared / "warc").glob("*.warc.gz")):
        for outcome in reader.read(str(path)):
            table = outcome.table
            for url, html, reason in zip(table.column("url").to_pylist(), table.column("html").to_pylist(),
                                         outcome.reasons):
                if reason is None and html:
                    pages.append(LabelledPage(url or "", html, "warc", "train"))
    return pages


def hplt_pages(shared: Path) -> List[LabelledPage]:
    import zstandard

    with open(shared / HPLT_FILE, "rb") as handle:
        raw = b"".join(zstandard.ZstdDecompressor().read_to_iter(handle))
    pages = []
    for line in raw.decode("utf-8", errors="replace").splitlines():
        record = json.loads(line)
        if record.get("h"):
            pages.append(LabelledPage(record.get("u", ""), record["h"], "hplt", "train"))
    return pages


def _trafilatura_text(html: str) -> str:
    import trafilatura

    text = trafilatura.extract(html, favor_precision=True, include_comments=False, include_tables=True,
                               deduplicate=False, with_metadata=False, output_format="txt")
    return norm((text or "").replace("|", " "))


def block_labels(page: LabelledPage, texts: List[str]) -> tuple[np.ndarray, np.ndarray]:
    """(labels, is_gold) per block; labels are 1 (main content) / 0."""
    silver = _trafilatura_text(page.html)
    labels = np.zeros(len(texts), dtype=np.int8)
    gold = np.zeros(len(texts), dtype=bool)
    with_snippets = [norm(s) for s in page.with_snippets if norm(s)]
    without_snippets = [norm(s) for s in page.without_snippets if norm(s)]
    for i, text in enumerate(texts):
        block = norm(text)
        plain = norm(block.replace("|", " "))
        labels[i] = 1 if plain and plain in silver else 0
        if any(s in block for s in without_snippets):
            labels[i], gold[i] = 0, True
        elif any(s in block for s in with_snippets) or (len(block) >= 20 and any(block in s for s in with_snippets)):
            labels[i], gold[i] = 1, True
    return labels, gold


def snippet_accuracy(pages: List[LabelledPage], texts: List[str]) -> float:
    good = total = 0
    for page, text in zip(pages, texts):
        text = norm(text)
        for snippet in page.with_snippets:
            total += 1
            good += norm(snippet) in text
        for snippet in page.without_snippets:
            total += 1
            good += norm(snippet) not in text
    return good / max(total, 1)


def _export(classifier, threshold: float) -> BlockModel:
    trees = [predictors[0] for predictors in classifier._predictors]
    width = max(len(tree.nodes) for tree in trees)
    shape = (len(trees), width)
    feature = np.full(shape, -1, dtype=np.int32)
    threshold_values = np.zeros(shape, dtype=np.float32)
    left = np.zeros(shape, dtype=np.int32)
    right = np.zeros(shape, dtype=np.int32)
    value = np.zeros(shape, dtype=np.float32)
    depth = 0
    for t, tree in enumerate(trees):
        nodes = tree.nodes
        n = len(nodes)
        leaf = nodes["is_leaf"].astype(bool)
        feature[t, :n] = np.where(leaf, -1, nodes["feature_idx"])
        threshold_values[t, :n] = nodes["num_threshold"]
        left[t, :n] = nodes["left"]
        right[t, :n] = nodes["right"]
        value[t, :n] = np.where(leaf, nodes["value"], 0.0)
        depth = max(depth, int(nodes["depth"].max()))
    prior = float(np.asarray(classifier._baseline_prediction).ravel()[0])
    return BlockModel(feature, threshold_values, left, right, value, depth, prior, threshold)


def build_arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "data",
                        help="the shared data folder (default: ../shared/data beside the project)")
    parser.add_argument("--output", type=Path, default=DEFAULT_MODEL, help="model file to write")
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--max-leaf-nodes", type=int, default=15)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--gold-weight", type=float, default=3.0, help="weight of snippet-labelled blocks")
    parser.add_argument("--no-silver-sources", action="store_true", help="train on the evaluation pages only")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    from sklearn.ensemble import HistGradientBoostingClassifier

    args = build_arguments().parse_args(argv)
    started = time.process_time()
    evaluation = eval_pages(args.shared)
    sources = [page for page in evaluation if page.split == "train"]
    if not args.no_silver_sources:
        sources += warc_pages(args.shared) + hplt_pages(args.shared)
    rows, labels, weights = [], [], []
    for page in sources:
        blocks, features, _ = block_probabilities(page.html, None, MAX_NODES)
        if blocks is None or not blocks.texts:
            continue
        page_labels, gold = block_labels(page, blocks.texts)
        rows.append(features)
        labels.append(page_labels)
        weights.append(np.where(gold, args.gold_weight, 1.0))
    x, y, w = np.vstack(rows), np.concatenate(labels), np.concatenate(weights)
    print(f"training on {len(sources)} pages, {len(y)} blocks ({int(y.sum())} main content), "
          f"{x.shape[1]} features", file=sys.stderr)
    classifier = HistGradientBoostingClassifier(
        max_iter=args.trees, learning_rate=args.learning_rate, max_leaf_nodes=args.max_leaf_nodes,
        l2_regularization=1.0, min_samples_leaf=40, random_state=0, early_stopping=False)
    classifier.fit(x, y, sample_weight=w)
    model = _export(classifier, 0.5)
    check = classifier.predict_proba(x[:2000])[:, 1]
    if not np.allclose(model.probabilities(x[:2000]), check, atol=1e-4):
        raise SystemExit("exported trees disagree with scikit-learn's predictions")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_block_model(args.output, model)
    for split in ("train", "held-apart"):
        pages = [page for page in evaluation if page.split == split]
        texts = [extract_blocks(page.html, model, MAX_NODES, 0.2).text for page in pages]
        print(f"snippet accuracy, {split} ({len(pages)} pages): {snippet_accuracy(pages, texts):.4f}")
    print(f"wrote {args.output} ({args.output.stat().st_size / 1024:.0f} KiB) in "
          f"{time.process_time() - started:.0f} CPU s", file=sys.stderr)
    return 0
