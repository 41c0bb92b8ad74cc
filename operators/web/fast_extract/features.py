"""Blocks of a page (:mod:`.blocks`) → one feature row per block, for the block classifier (:mod:`.model`).

The signals are the ones trafilatura, jusText and boilerpipe use, given to a learned model instead of hand-set
rules: the block's length and link density, its punctuation, its tag, the tags and ``class`` / ``id`` words
around it, where it sits in the page, how much text and how many links its region holds, and the same facts
of its neighbours (jusText's context). Every feature is a function of the page alone.

The column order is part of the model file: :data:`FEATURE_NAMES` is stored with the model and checked when
it is loaded, so a model can only be used with the features it was trained on.
"""

from __future__ import annotations

from typing import List

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

FEATURE_NAMES = (
    _TEXT_FEATURES
    + tuple(f"tag_{name}" for name, _tags in _TAG_GROUPS)
    + tuple(f"in_{tag}" for tag in CONTEXT_TAGS)
    + tuple(f"own_class_{name}" for name in CLASS_GROUP_NAMES)
    + tuple(f"class_{name}" for name in CLASS_GROUP_NAMES)
    + tuple(f"near_class_{name}" for name in CLASS_GROUP_NAMES)
    + _POSITION_FEATURES + _REGION_FEATURES + _NEIGHBOUR_FEATURES + _WINDOW_FEATURES
)


def _bits(values: np.ndarray, width: int) -> np.ndarray:
    return ((values[:, None] >> np.arange(width, dtype=np.int64)) & 1).astype(np.float32)


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
    upper = ((first >= 65) & (first <= 90)) | ((first >= 0xC0) & (first <= 0xDE)) | ((first >= 0x391) & (first <= 0x42F))
    terminal = _TERMINAL_CODE[np.minimum(last, _TERMINAL_CODE.size - 1)]
    return np.column_stack([counts, upper, terminal]).astype(np.float32)


def _region(containers: List[list], page_chars: float) -> np.ndarray:
    """Text share, link density and log block count of the three elements around a block's element (its
    parent, grandparent and great-grandparent): how much of the page's text the region holds, and how much of
    it is links. Siblings share their parent, so rows are computed once per parent."""
    memo: dict = {}
    rows = []
    for container in containers:
        parent = container[3]
        key = id(parent)
        row = memo.get(key)
        if row is None:
            row = []
            level = parent
            for _level in range(3):
                if level is None:
                    row.extend((0.0, 0.0, 0.0))
                    continue
                chars = level[0]
                row.extend((chars / page_chars, level[1] / chars if chars else 0.0, level[2]))
                level = level[3]
            memo[key] = row
        rows.append(row)
    region = np.asarray(rows, dtype=np.float32)
    region[:, 2::3] = np.log1p(region[:, 2::3])
    return region


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


def page_features(page: Page) -> np.ndarray:
    """The (blocks × len(FEATURE_NAMES)) float32 matrix of one page; zero rows for a page without blocks."""
    n = len(page.texts)
    if n == 0:
        return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32)
    numbers = np.asarray(page.numbers, dtype=np.int64)
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
    return np.column_stack([
        text_part, tag_onehot, _bits(numbers[:, 5], len(CONTEXT_TAGS)),
        _bits(numbers[:, 6], width), _bits(numbers[:, 7], width), _bits(numbers[:, 8], width),
        position, _region(page.containers, page_chars), np.column_stack(neighbours),
        np.log1p(window), 1.0 - window / np.maximum(window_all, 1.0),
    ]).astype(np.float32)
