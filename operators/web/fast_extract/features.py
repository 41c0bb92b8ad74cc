"""Blocks of a page (:mod:`.blocks`) → one feature row per block, for the block classifier (:mod:`.model`).

The signals are the ones trafilatura, jusText and boilerpipe use, given to a learned model instead of hand-set
rules: the block's length and link density, its punctuation, its tag, the tags and ``class`` / ``id`` words
around it, where it sits in the page, how much text and how many links its region holds, and the same facts
of its neighbours (jusText's context). Every feature is a function of the page alone.

The column order is part of the model file: :data:`FEATURE_NAMES` is stored with the model and checked when
it is loaded, so a model can only be used with the features it was trained on.
"""

from __future__ import annotations

from itertools import chain
from typing import List, NamedTuple

import numpy as np

from operators.web.fast_extract.blocks import CLASS_GROUP_NAMES, CONTEXT_TAGS, Page

_TAG_GROUPS = (
    ("p", ("p",)), ("div", ("div", "center")), ("li", ("li",)), ("h1", ("h1",)), ("h2", ("h2",)),
    ("h3", ("h3",)), ("h4_6", ("h4", "h5", "h6")), ("tr", ("tr", "table", "tbody", "thead", "tfoot", "caption")),
    ("dl", ("dl", "dt", "dd")), ("blockquote", ("blockquote",)), ("pre", ("pre",)),
    ("figure", ("figure", "figcaption")), ("section", ("section", "article", "main", "body", "html")),
    ("landmark", ("header", "footer", "nav", "aside", "menu")), ("form", ("form", "fieldset", "legend")),
    ("list", ("ul", "ol")),
)
_TAG_INDEX = {tag: i for i, (_name, tags) in enumerate(_TAG_GROUPS) for tag in tags}
# Character classes counted per block: 1 space / line break (word boundaries), 2 sentence punctuation,
# 3 commas, 4 digits, 5 line breaks (also word boundaries).
_CHAR_CLASS = np.zeros(0x3001 + 0xFF1F - 0x3001 + 1, dtype=np.int64)
for _char, _class in ((" ", 1), (".", 2), ("!", 2), ("?", 2), ("。", 2), ("！", 2), ("？", 2), (",", 3),
                      ("，", 3), ("、", 3), ("\n", 5)):
    _CHAR_CLASS[ord(_char)] = _class
_CHAR_CLASS[ord("0"):ord("9") + 1] = 4
_CHAR_CLASS[-1] = 0
_TERMINAL_CODE = np.zeros(0xFF1F + 1, dtype=bool)
for _char in ".!?。！？…;:\"'»”)":
    _TERMINAL_CODE[ord(_char)] = True
_TERMINAL_CODE[-1] = False

_TEXT_FEATURES = ("log_chars", "log_words", "link_density", "log_links", "log_cells", "depth", "terminal_punct",
                  "sentence_punct_per_word", "comma_per_word", "digit_ratio", "upper_start", "in_title",
                  "repeated_in_page", "mean_word_chars", "lines")
_POSITION_FEATURES = ("position", "block_position", "log_page_chars", "log_page_blocks")
_REGION_FEATURES = tuple(f"{level}_{what}" for level in ("parent", "grandparent", "ancestor3")
                         for what in ("share", "link_density", "log_blocks"))
_NEIGHBOUR_FEATURES = tuple(f"{side}_{what}" for side in ("prev", "next", "prev2", "next2")
                            for what in ("log_chars", "link_density", "terminal_punct"))
_WINDOW_FEATURES = ("window_log_text", "window_link_density")

CONTEXT_NAMES = ("stage1", "stage1_prev", "stage1_next", "stage1_prev2", "stage1_next2", "stage1_window",
                 "stage1_parent", "stage1_grandparent", "stage1_ancestor3", "stage1_page_share",
                 "stage1_page_blocks", "stage1_confident_distance")

FEATURE_NAMES = (
    _TEXT_FEATURES
    + tuple(f"tag_{name}" for name, _tags in _TAG_GROUPS)
    + tuple(f"in_{tag}" for tag in CONTEXT_TAGS)
    + tuple(f"own_class_{name}" for name in CLASS_GROUP_NAMES)
    + tuple(f"class_{name}" for name in CLASS_GROUP_NAMES)
    + tuple(f"near_class_{name}" for name in CLASS_GROUP_NAMES)
    + _POSITION_FEATURES + _REGION_FEATURES + _NEIGHBOUR_FEATURES + _WINDOW_FEATURES
)


def _bit_columns(values: np.ndarray, widths: tuple) -> np.ndarray:
    """The low ``widths[i]`` bits of column i of ``values`` (non-negative int64), least significant first, side by
    side as 0/1 columns (one unpack for all columns)."""
    rows, columns = values.shape
    as_bytes = np.ascontiguousarray(values, dtype="<i8").view(np.uint8).reshape(rows, columns, 8)
    bits = np.unpackbits(as_bytes, axis=2, bitorder="little")
    return np.concatenate([bits[:, i, :width] for i, width in enumerate(widths)], axis=1).astype(np.float32)


def _char_counts(texts: List[str]) -> np.ndarray:
    """Per block: words, sentence punctuation, commas, digits, line breaks, upper-case first letter, terminal
    punctuation last (one vectorised pass over the page's text as UTF-32 code points)."""
    lengths = np.fromiter((len(text) for text in texts), dtype=np.int64, count=len(texts))
    starts = np.zeros(len(texts), dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    codes = np.frombuffer("\x00".join(texts).encode("utf-32-le"), dtype=np.uint32)
    classes = _CHAR_CLASS[np.minimum(codes, _CHAR_CLASS.size - 1)]
    block_of_char = np.repeat(np.arange(len(texts), dtype=np.int64) * 6, lengths + 1)[: codes.size]
    counts = np.bincount(block_of_char + classes, minlength=6 * len(texts)).reshape(len(texts), 6)[:, 1:]
    first = codes[starts]
    last = codes[starts + lengths - 1]
    upper = (((first >= 65) & (first <= 90)) | ((first >= 0xC0) & (first <= 0xDE))
             | ((first >= 0x391) & (first <= 0x42F)))
    terminal = _TERMINAL_CODE[np.minimum(last, _TERMINAL_CODE.size - 1)]
    return np.column_stack([counts, upper, terminal]).astype(np.float32)


def _region(page: Page, page_chars: float) -> tuple[np.ndarray, np.ndarray]:
    """Text share, link density and log block count of the three elements around a block's element (its
    parent, grandparent and great-grandparent): how much of the page's text the region holds, and how much of
    it is links; and the block ranges of those regions (first, end; 0, 0 where there is none)."""
    regions = _int_rows(page.regions, 5)
    # A last row of zeros stands for "no such ancestor" (index -1).
    regions = np.vstack([regions, np.array([[0, 0, 0, -1, 0]], dtype=np.int64)])
    chars, links, blocks, parents, first = regions.T
    level = parents[np.asarray(page.containers, dtype=np.int64)]
    columns, ranges = [], []
    for _level in range(3):
        level_chars = chars[level].astype(np.float64)
        columns.extend((level_chars / page_chars, links[level] / np.maximum(level_chars, 1.0), np.log1p(blocks[level])))
        ranges.extend((first[level], first[level] + blocks[level]))
        level = parents[level]
    region = np.column_stack(columns).astype(np.float32)
    return region, np.column_stack(ranges).reshape(len(page.containers), 3, 2)


def _int_rows(rows: list, width: int) -> np.ndarray:
    """A list of equal-length rows of ints as a (rows × width) int64 array (flattened first: several times faster
    than ``np.asarray`` on nested lists)."""
    return np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=len(rows) * width).reshape(len(rows), width)


def _shift(values: np.ndarray, by: int) -> np.ndarray:
    out = np.zeros_like(values)
    if by > 0:
        out[by:] = values[:-by]
    else:
        out[:by] = values[-by:]
    return out


def _window_sum(values: np.ndarray, half: int) -> np.ndarray:
    """Sum over each block and the ``half`` blocks on either side."""
    padded = np.concatenate([np.zeros(half + 1, dtype=np.float64), values, np.zeros(half, dtype=np.float64)])
    total = np.cumsum(padded)
    return (total[2 * half + 1:] - total[: -2 * half - 1]).astype(np.float32)


class PageFeatures(NamedTuple):
    values: np.ndarray    # (blocks × len(FEATURE_NAMES)) float32
    ranges: np.ndarray    # (blocks × 3 × 2): first and end block of the parent, grandparent, great-grandparent
    chars: np.ndarray     # (blocks,) float64: characters per block


def page_features(page: Page) -> PageFeatures:
    """The features of one page's blocks, with what :func:`context_features` needs besides."""
    n = len(page.texts)
    if n == 0:
        return PageFeatures(np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32), np.zeros((0, 3, 2), dtype=np.int64),
                            np.zeros(0))
    numbers = _int_rows(page.numbers, 10)
    chars = numbers[:, 0].astype(np.float32)
    link_density = numbers[:, 1] / chars
    counts: dict = {}
    for text in page.texts:
        counts[text] = counts.get(text, 0) + 1
    title = page.title
    in_title = np.fromiter((bool(title) and text in title for text in page.texts), dtype=np.float32, count=n)
    repeated = np.fromiter((counts[text] > 1 for text in page.texts), dtype=np.float32, count=n)
    char_counts = _char_counts(page.texts)
    words = char_counts[:, 0] + char_counts[:, 4] + 1
    terminal = char_counts[:, 6]
    page_chars = float(chars.sum())
    tag_onehot = np.zeros((n, len(_TAG_GROUPS)), dtype=np.float32)
    tag_onehot[np.arange(n), [_TAG_INDEX.get(tag, _TAG_INDEX["div"]) for tag in page.tags]] = 1.0
    text_part = np.column_stack([
        np.log1p(chars), np.log1p(words), link_density, np.log1p(numbers[:, 2]), np.log1p(numbers[:, 3]),
        numbers[:, 4], terminal, char_counts[:, 1] / words, char_counts[:, 2] / words, char_counts[:, 3] / chars,
        char_counts[:, 5], in_title, repeated, chars / words, char_counts[:, 4] + 1,
    ])
    position = np.column_stack([
        numbers[:, 9] / page_chars, np.arange(n) / n, np.full(n, np.log1p(page_chars)), np.full(n, np.log1p(n)),
    ])
    neighbours = []
    log_chars = np.log1p(chars)
    for by in (1, -1, 2, -2):
        neighbours.extend((_shift(log_chars, by), _shift(link_density, by), _shift(terminal, by)))
    text_chars = chars * (1.0 - link_density)
    window = _window_sum(text_chars, 2)
    window_all = _window_sum(chars, 2)
    width = len(CLASS_GROUP_NAMES)
    region, ranges = _region(page, page_chars)
    values = np.column_stack([
        text_part, tag_onehot, _bit_columns(numbers[:, 5:9], (len(CONTEXT_TAGS), width, width, width)),
        position, region, np.column_stack(neighbours),
        np.log1p(window), 1.0 - window / np.maximum(window_all, 1.0),
    ]).astype(np.float32)
    return PageFeatures(values, ranges, chars.astype(np.float64))


def context_features(features: PageFeatures, probabilities: np.ndarray) -> np.ndarray:
    """The second stage's extra columns (:data:`CONTEXT_NAMES`): what the first stage thinks of the block, its
    neighbours, its regions and the page (jusText's context step, learned)."""
    n = probabilities.size
    chars, ranges = features.chars, features.ranges
    weighted = np.concatenate([[0.0], np.cumsum(probabilities * chars)])
    total = np.concatenate([[0.0], np.cumsum(chars)])
    columns = [probabilities]
    for by in (1, -1, 2, -2):
        columns.append(_shift(probabilities, by))
    window = _window_sum(probabilities * chars, 3) / np.maximum(_window_sum(chars, 3), 1.0)
    columns.append(window)
    for level in range(3):
        first, end = ranges[:, level, 0], ranges[:, level, 1]
        region_chars = total[end] - total[first]
        columns.append(np.where(region_chars > 0, (weighted[end] - weighted[first]) / np.maximum(region_chars, 1.0),
                                -1.0))
    main = probabilities >= 0.5
    columns.append(np.full(n, chars[main].sum() / max(chars.sum(), 1.0)))
    columns.append(np.full(n, np.log1p(main.sum())))
    # Distance (in blocks) to the nearest block the first stage is confident about, either side.
    confident = np.flatnonzero(probabilities >= 0.8)
    if confident.size:
        position = np.searchsorted(confident, np.arange(n))
        after = confident[np.minimum(position, confident.size - 1)] - np.arange(n)
        before = np.arange(n) - confident[np.maximum(position - 1, 0)]
        distance = np.minimum(np.where(after >= 0, after, n), np.where(before >= 0, before, n))
    else:
        distance = np.full(n, n)
    columns.append(np.log1p(distance))
    return np.column_stack(columns).astype(np.float32)
