"""Keyword pools (paper §3.1.4: "we first use GPT-4 to generate a large number of keywords covering diverse
topics such as mathematics, history, physics, etc. That results in 100k keyword pools. Then, we sample several
target keywords from the keyword pool").

* **Given**: a text file of one keyword per line (``#`` comments and blank lines skipped), or JSONL records
  ``{"keyword", "subject"?, "language"?}``.
* **Generated**: ``per_subject`` keywords for each configured subject, asked ``per_request`` at a time
  (:data:`~pipelines.synthesis.templates.KEYWORDS_TEMPLATE`; the lists of one subject ask for successive parts
  of it, basic to advanced, so that they differ), the replies parsed one keyword a line and
  deduplicated; kept in ``OUT/_work/keywords.jsonl``, which a rerun reuses as it is. The requests go through
  the run's journal (``OUT/_work/keyword_responses.jsonl``), so an interrupted generation resumes.

Every entry read or parsed is counted: kept, or a reason (``keywords:empty``, ``keywords:duplicate``,
``keywords:unknown_language``, ``read:*``). Duplicates are the same keyword (case-folded, spaces collapsed) in
the same language.

:func:`keyword_groups` turns a pool into the keyword sets of the prompts: the keywords of one subject and
language are shuffled and cut into sets of ``per_prompt``; all sets are shuffled together; prompt *i* takes set
*i* of that order, and after the last set a new pass with another shuffle begins — every keyword is used
before any is used twice. Each template draws its own order (the seed is salted with its name).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from common.atomic_io import write_text
from common.compressed_files import strip_compression
from operators.sft.reader import read_records
from pipelines.synthesis.templates import render_keywords_request

KEYWORDS_FILE = "keywords.jsonl"
MAX_KEYWORD_CHARS = 80
MAX_KEYWORD_WORDS = 8

_BULLET = re.compile(r"^\s*(?:[-*\u2022\u00b7]+|\(?\d+[.):]|#+)\s*")


@dataclass(frozen=True)
class Keyword:
    keyword: str
    subject: Optional[str] = None
    language: Optional[str] = None


def _key(keyword: Keyword) -> Tuple[str, Optional[str]]:
    return " ".join(keyword.keyword.casefold().split()), keyword.language


def dedupe(entries: Iterable[Tuple[Optional[Keyword], Optional[str]]], languages: Optional[Sequence[str]] = None
           ) -> Tuple[List[Keyword], Counter]:
    """The distinct keywords of ``entries`` ((keyword, None) or (None, reason)), and the reasons of the rest."""
    seen = set()
    kept: List[Keyword] = []
    reasons: Counter = Counter()
    for keyword, problem in entries:
        if problem is None and (keyword is None or not keyword.keyword.strip()):
            problem = "keywords:empty"
        if problem is None and languages is not None and keyword.language and keyword.language not in languages:
            problem = "keywords:unknown_language"
        if problem is None and _key(keyword) in seen:
            problem = "keywords:duplicate"
        if problem is not None:
            reasons[problem] += 1
            continue
        seen.add(_key(keyword))
        kept.append(keyword)
    return kept, reasons


def _text(value) -> Optional[str]:
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


def read_pool(path: str) -> Iterable[Tuple[Optional[Keyword], Optional[str]]]:
    """(keyword, None) or (None, reason) per entry of a pool file."""
    if strip_compression(path).endswith((".jsonl", ".json", ".parquet")):
        for _, record, problem in read_records(path):
            if problem is not None:
                yield None, problem
            elif not isinstance(record, dict) or _text(record.get("keyword")) is None:
                yield None, "keywords:empty"
            else:
                keyword = Keyword(_text(record["keyword"]), _text(record.get("subject")), _text(record.get("language")))
                yield keyword, None
        return
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip() and not line.lstrip().startswith("#"):
                yield Keyword(" ".join(line.split())), None


def parse_keywords(reply: str) -> List[str]:
    """The keywords of a reply, one a line: numbering, bullets, bold and quotes removed; an explanation after
    " - " or ": " cut; lines that are no keyword (a heading ending in ":", a sentence) skipped."""
    out = []
    for line in reply.splitlines():
        line = _BULLET.sub("", line.strip()).replace("**", "").strip()
        if not line or line.endswith(":"):
            continue
        for separator in (" - ", " \u2013 ", " \u2014 ", ": "):
            if separator in line:
                line = line.split(separator, 1)[0]
        line = line.strip().strip("\"'`\u201c\u201d\u2018\u2019").rstrip(".,;").strip()
        if line and len(line) <= MAX_KEYWORD_CHARS and len(line.split()) <= MAX_KEYWORD_WORDS:
            out.append(line)
    return out


@dataclass
class KeywordRequest:
    prompt_id: str
    subject: str
    prompt: str


def keyword_requests(subjects: Sequence[str], per_subject: int, per_request: int) -> List[KeywordRequest]:
    requests = []
    for s, subject in enumerate(subjects):
        rounds = -(-per_subject // per_request)
        for r in range(rounds):
            count = min(per_request, per_subject - r * per_request)
            requests.append(KeywordRequest(f"keywords-{s:04d}-{r:04d}", subject,
                                           render_keywords_request(subject, count, r + 1, rounds)))
    return requests


def pool_from_replies(requests: Sequence[KeywordRequest], replies: Dict[str, str], per_subject: int
                      ) -> Tuple[List[Keyword], Counter]:
    """The generated pool: each subject's parsed keywords in request order, at most ``per_subject`` kept."""
    entries: List[Tuple[Optional[Keyword], Optional[str]]] = []
    kept_per_subject: Counter = Counter()
    seen = set()
    reasons: Counter = Counter()
    for request in requests:
        for word in parse_keywords(replies.get(request.prompt_id, "")):
            keyword = Keyword(word, request.subject)
            if _key(keyword) in seen:
                reasons["keywords:duplicate"] += 1
            elif kept_per_subject[request.subject] >= per_subject:
                reasons["keywords:over_per_subject"] += 1
            else:
                seen.add(_key(keyword))
                kept_per_subject[request.subject] += 1
                entries.append((keyword, None))
    return [keyword for keyword, _ in entries], reasons


def save_pool(path: str, pool: Sequence[Keyword]) -> None:
    write_text(path, "".join(json.dumps({"keyword": k.keyword, "subject": k.subject, "language": k.language},
                                        ensure_ascii=False) + "\n" for k in pool))


def _rng(*parts) -> random.Random:
    digest = hashlib.sha256("\0".join(map(str, parts)).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class KeywordGroups:
    """The keyword set of prompt *i* of one template (see the module's docstring)."""

    def __init__(self, pool: Sequence[Keyword], per_prompt: int, seed: int, salt: str) -> None:
        if not pool:
            raise ValueError("empty keyword pool")
        self.per_prompt = per_prompt
        self.seed = seed
        self.salt = salt
        self.groups: Dict[Tuple[str, str], List[Keyword]] = {}
        for keyword in pool:
            self.groups.setdefault((keyword.subject or "", keyword.language or ""), []).append(keyword)
        self._passes: Dict[int, List[List[Keyword]]] = {}
        self.sets_per_pass = sum(-(-len(g) // per_prompt) for g in self.groups.values())

    def _pass(self, number: int) -> List[List[Keyword]]:
        if number not in self._passes:
            sets: List[List[Keyword]] = []
            for key in sorted(self.groups):
                words = list(self.groups[key])
                _rng(self.seed, self.salt, number, *key).shuffle(words)
                sets.extend(words[i:i + self.per_prompt] for i in range(0, len(words), self.per_prompt))
            _rng(self.seed, self.salt, number).shuffle(sets)
            self._passes = {number: sets}   # prompts are made in order: one pass is enough to keep
        return self._passes[number]

    def __call__(self, index: int) -> List[Keyword]:
        return self._pass(index // self.sets_per_pass)[index % self.sets_per_pass]


def pool_path(work: str) -> str:
    return os.path.join(work, KEYWORDS_FILE)


__all__ = ["Keyword", "KeywordGroups", "KeywordRequest", "KEYWORDS_FILE", "dedupe", "keyword_requests",
           "parse_keywords", "pool_from_replies", "pool_path", "read_pool", "save_pool"]
