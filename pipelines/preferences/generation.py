"""Preference pairs generated and judged through OpenAI-compatible endpoints (paper §4.2.2: the model
answers each prompt at least twice with different generation settings; another LLM picks the better).

* **Generate**: ``POST {policy_url}/chat/completions`` once per temperature in ``temperatures`` (two by
  default, 0.7 and 1.0), so each prompt gets two candidate replies.
* **Judge**: ``POST {judge_url}/chat/completions`` with both replies, asked to answer with one letter
  (A, B, or T for a tie), **twice with the order swapped**; a pair is kept only when both verdicts name
  the same reply, which cancels the judge's position bias.
* Every prompt ends as a pair or as a counted reason: ``gen:error`` (an endpoint failed or returned no
  text), ``pref:identical`` (the replies are equal), ``pref:tie``, ``pref:judge_unparsable``,
  ``pref:inconsistent_judge``. Nothing here is needed by training or tests that have no endpoint.

The API key, when the endpoint needs one, is read from the environment variable named by
``api_key_env`` (never from the command line).

:class:`ChatClient` is the same :class:`Endpoint` for jobs that send many requests (``pipelines/synthesis/``):
retries of transient failures (HTTP 408/409/429/5xx, connection errors, timeouts; exponential backoff, or the
server's ``Retry-After``), a rate limit shared by its threads, and ``map`` to keep ``concurrency`` requests in
flight. :func:`check_endpoint_url` and :func:`check_reachable` make a bad URL or a server that is not there
one :class:`~common.config_check.ConfigError` before any work.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, TypeVar

from common.config_check import ConfigError

JUDGE_INSTRUCTION = (
    "You compare two answers to the same request, written in the request's language. Judge relevance, "
    "correctness, coherence and whether the answer follows the request. Reply with exactly one letter: "
    "A if answer A is better, B if answer B is better, T if they are equally good."
)
_VERDICT = re.compile(r"\b([ABT])\b")


@dataclass
class Endpoint:
    url: str                      # e.g. http://localhost:8000/v1 (vLLM, SGLang, TGI, or a hosted API)
    model: str
    api_key_env: Optional[str] = None
    timeout: float = 120.0
    max_tokens: int = 2048

    def chat(self, messages: Sequence[dict], temperature: float) -> str:
        body = json.dumps({"model": self.model, "messages": list(messages), "temperature": temperature,
                           "max_tokens": self.max_tokens}).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key_env and os.environ.get(self.api_key_env):
            headers["Authorization"] = f"Bearer {os.environ[self.api_key_env]}"
        request = urllib.request.Request(self.url.rstrip("/") + "/chat/completions", data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            reply = json.loads(response.read().decode("utf-8"))
        content = reply["choices"][0]["message"]["content"]
        if not isinstance(content, str) or not content.strip():
            raise ValueError("empty reply")
        return content


@dataclass
class GenerationSettings:
    temperatures: List[float] = field(default_factory=lambda: [0.7, 1.0])


def _verdict(text: str) -> Optional[str]:
    match = _VERDICT.search(text.strip().upper())
    return match.group(1) if match else None


def judge(endpoint: Endpoint, prompt: Sequence[dict], first: str, second: str) -> Optional[str]:
    request = "\n\n".join(f"{m['role']}: {m['content']}" for m in prompt)
    messages = [{"role": "system", "content": JUDGE_INSTRUCTION},
                {"role": "user", "content": f"Request:\n{request}\n\nAnswer A:\n{first}\n\nAnswer B:\n{second}"}]
    return _verdict(endpoint.chat(messages, temperature=0.0))


def generate_pair(prompt: Sequence[dict], policy: Endpoint, judge_endpoint: Endpoint,
                  settings: GenerationSettings) -> Tuple[Optional[dict], Optional[str]]:
    """({"prompt", "chosen", "rejected"}, None) or (None, reason)."""
    try:
        first, second = (policy.chat(prompt, t) for t in settings.temperatures[:2])
        if first.strip() == second.strip():
            return None, "pref:identical"
        forward = judge(judge_endpoint, prompt, first, second)
        backward = judge(judge_endpoint, prompt, second, first)
    except (urllib.error.URLError, OSError, ValueError, KeyError, IndexError, TypeError):
        return None, "gen:error"
    if forward is None or backward is None:
        return None, "pref:judge_unparsable"
    if forward == "T" or backward == "T":
        return None, "pref:tie"
    swapped = {"A": "B", "B": "A"}[backward]
    if forward != swapped:
        return None, "pref:inconsistent_judge"
    chosen, rejected = (first, second) if forward == "A" else (second, first)
    return {"prompt": list(prompt), "chosen": chosen, "rejected": rejected}, None


# Answers worth asking again: the server was busy, rate-limited us or failed for a moment.
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


@dataclass
class RetryPolicy:
    # Tries per request (1 = no retry).
    attempts: int = 5
    # Seconds before the second try, doubled after each failure; a Retry-After header wins (up to max_backoff).
    backoff: float = 1.0
    max_backoff: float = 60.0
    # Requests per minute over all threads of the client; None = no limit.
    requests_per_minute: Optional[float] = None
    # Requests in flight at once (ChatClient.map).
    concurrency: int = 4

    def validate(self) -> None:
        if self.attempts < 1 or self.concurrency < 1:
            raise ConfigError("attempts and concurrency: at least 1")
        if self.backoff < 0 or self.max_backoff < 0:
            raise ConfigError("backoff and max_backoff: at least 0")
        if self.requests_per_minute is not None and self.requests_per_minute <= 0:
            raise ConfigError("requests_per_minute: positive, or null for no limit")


def retryable(exc: BaseException) -> bool:
    """Whether a failed request may succeed when asked again."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code in RETRYABLE_STATUS
    return isinstance(exc, (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError))


def _retry_after(exc: BaseException) -> Optional[float]:
    headers = getattr(exc, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: use our own backoff


class _RateLimiter:
    """At most ``per_minute`` starts per minute, evenly spaced, over every thread that shares it."""

    def __init__(self, per_minute: Optional[float]) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


T = TypeVar("T")
R = TypeVar("R")


class ChatClient:
    """An :class:`Endpoint` asked with retries and a shared rate limit; ``requests`` and ``retries`` count what
    it sent (tests and statistics read them)."""

    def __init__(self, endpoint: Endpoint, policy: Optional[RetryPolicy] = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.endpoint = endpoint
        self.policy = policy or RetryPolicy()
        self._limiter = _RateLimiter(self.policy.requests_per_minute)
        self._sleep = sleep
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0

    def chat(self, messages: Sequence[dict], temperature: float) -> str:
        """The reply's text; the last error once ``attempts`` tries failed, or at once when it is not transient."""
        for attempt in range(1, self.policy.attempts + 1):
            self._limiter.wait()
            with self._lock:
                self.requests += 1
            try:
                return self.endpoint.chat(messages, temperature)
            except Exception as exc:  # noqa: BLE001 - classified below, re-raised when final
                if attempt == self.policy.attempts or not retryable(exc):
                    raise
                delay = _retry_after(exc)
                if delay is None:
                    delay = self.policy.backoff * 2 ** (attempt - 1)
                with self._lock:
                    self.retries += 1
                self._sleep(min(delay, self.policy.max_backoff))
        raise AssertionError("unreachable")

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[Tuple[T, R]]:
        """``(item, function(item))`` as each finishes, ``concurrency`` at a time (threads: the work is waiting
        on the server). ``function`` should turn its own failures into values; one it raises is raised here
        after the requests in flight end. Items are taken from ``items`` lazily."""
        pending = {}
        source = iter(items)
        with ThreadPoolExecutor(max_workers=self.policy.concurrency, thread_name_prefix="chat") as pool:
            try:
                for item in source:
                    pending[pool.submit(function, item)] = item
                    if len(pending) >= self.policy.concurrency:
                        break
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        item = pending.pop(future)
                        yield item, future.result()
                        following = next(source, _END)
                        if following is not _END:
                            pending[pool.submit(function, following)] = following
            finally:
                for future in pending:
                    future.cancel()


_END = object()


def check_endpoint_url(key: str, url: str) -> str:
    """``url`` if it is an ``http(s)://host[:port]/path`` URL, else a ConfigError naming ``key``."""
    try:
        parsed = urllib.parse.urlparse(url or "")
        parsed.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ConfigError(f"{key}: not a URL: {url!r} ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"{key}: expected an http:// or https:// URL of an OpenAI-compatible API "
                          f"(e.g. http://localhost:8000/v1), got {url!r}")
    return url


def check_reachable(key: str, endpoint: Endpoint, timeout: float = 10.0) -> None:
    """A ConfigError naming ``key`` when nothing answers at the endpoint's host (connection refused, unknown
    host, timeout). Any HTTP answer, even an error status, counts as reachable: ``GET {url}/models`` is only a
    probe."""
    request = urllib.request.Request(endpoint.url.rstrip("/") + "/models", method="GET")
    if endpoint.api_key_env and os.environ.get(endpoint.api_key_env):
        request.add_header("Authorization", f"Bearer {os.environ[endpoint.api_key_env]}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError:
        return
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ConfigError(f"{key}: nothing answers at {endpoint.url} ({reason})") from None


def prompt_messages(record: dict) -> Optional[List[dict]]:
    prompt = record.get("prompt") if isinstance(record, dict) else None
    if isinstance(prompt, str) and prompt.strip():
        return [{"role": "user", "content": prompt}]
    if isinstance(prompt, list) and prompt and all(isinstance(m, dict) and {"role", "content"} <= set(m)
                                                   for m in prompt):
        return [{"role": m["role"], "content": m["content"]} for m in prompt]
    return None


__all__ = ["ChatClient", "Endpoint", "GenerationSettings", "RetryPolicy", "check_endpoint_url", "check_reachable",
           "generate_pair", "judge", "prompt_messages", "retryable", "JUDGE_INSTRUCTION", "RETRYABLE_STATUS"]
