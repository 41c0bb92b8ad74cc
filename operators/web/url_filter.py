"""URL filter: fraudulent, adult, gambling and violent sites (paper §3.1.1, "Document Preparation").

Three replaceable word lists and a domain list (``operators/resources/url_filter/*.txt``; one entry per line,
``#`` comments), checked in this order:

* ``blocked_domains``: the URL's host or any parent domain is listed → ``url_blocked_domain``.
* ``banned_words``: a whole token of the lower-cased host name (split on non-alphanumerics) is listed,
  or a ``banned_subwords`` entry occurs inside a host token → ``url_banned_word``.
* ``soft_words``: two or more *different* tokens of host + path are soft or banned words →
  ``url_soft_words`` (datatrove's rule for words that are harmless alone). A banned word in the *path*
  only counts as a soft word: news sites write about casinos (a real Common Crawl URL,
  ``abc.net.au/news/...christmas-island-casino-developing...``), gambling sites are named after them.

Rows without a URL are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import FrozenSet, Optional, Sequence, Set
from urllib.parse import urlsplit

import pyarrow as pa

from common.config_check import ConfigPath, require_file
from operators.base import Filter, Reason
from operators.resources import resource_path

_TOKEN = re.compile(r"[^\w]+|_", re.UNICODE)


def _default(name: str) -> str:
    return resource_path("url_filter", name)


@dataclass
class UrlFilterConfig:
    blocked_domains_path: ConfigPath = _default("blocked_domains.txt")
    banned_words_path: ConfigPath = _default("banned_words.txt")
    banned_subwords_path: ConfigPath = _default("banned_subwords.txt")
    soft_words_path: ConfigPath = _default("soft_words.txt")
    soft_word_threshold: int = 2

    def check_files(self) -> None:
        for key in ("blocked_domains_path", "banned_words_path", "banned_subwords_path", "soft_words_path"):
            require_file(f"url_filter.{key}", getattr(self, key))


def read_word_list(path: str) -> FrozenSet[str]:
    with open(path, encoding="utf-8") as handle:
        return frozenset(
            line.strip().lower() for line in handle if line.strip() and not line.lstrip().startswith("#")
        )


def _host(url: str) -> str:
    try:
        host = urlsplit(url if "://" in url else "http://" + url).hostname or ""
    except ValueError:
        host = ""
    return host.lower().rstrip(".")


class UrlFilter(Filter):
    name = "url_filter"

    def __init__(self, config: UrlFilterConfig) -> None:
        self.config = config
        self.domains: FrozenSet[str] = frozenset()
        self.banned: FrozenSet[str] = frozenset()
        self.subwords: FrozenSet[str] = frozenset()
        self.soft: FrozenSet[str] = frozenset()

    def setup(self) -> None:
        self.domains = read_word_list(self.config.blocked_domains_path)
        self.banned = read_word_list(self.config.banned_words_path)
        self.subwords = read_word_list(self.config.banned_subwords_path)
        self.soft = read_word_list(self.config.soft_words_path)

    def _blocked_domain(self, host: str) -> bool:
        parts = host.split(".")
        return any(".".join(parts[i:]) in self.domains for i in range(len(parts) - 1))

    def reason_for(self, url: Optional[str]) -> Reason:
        if not url:
            return None
        host = _host(url)
        if host and self._blocked_domain(host):
            return "url_blocked_domain"
        host_tokens = [t for t in _TOKEN.split(host) if t]
        if any(t in self.banned for t in host_tokens):
            return "url_banned_word"
        if any(sub in t for t in host_tokens for sub in self.subwords):
            return "url_banned_word"
        tokens: Set[str] = {t for t in _TOKEN.split(url.lower()) if t}
        if len(tokens & (self.soft | self.banned)) >= self.config.soft_word_threshold:
            return "url_soft_words"
        return None

    def reasons(self, batch: pa.Table) -> Sequence[Reason]:
        return [self.reason_for(url) for url in batch.column("url").to_pylist()]
