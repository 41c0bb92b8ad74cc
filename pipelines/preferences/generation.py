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
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

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


def prompt_messages(record: dict) -> Optional[List[dict]]:
    prompt = record.get("prompt") if isinstance(record, dict) else None
    if isinstance(prompt, str) and prompt.strip():
        return [{"role": "user", "content": prompt}]
    if isinstance(prompt, list) and prompt and all(isinstance(m, dict) and {"role", "content"} <= set(m)
                                                   for m in prompt):
        return [{"role": m["role"], "content": m["content"]} for m in prompt]
    return None


__all__ = ["Endpoint", "GenerationSettings", "generate_pair", "judge", "prompt_messages", "JUDGE_INSTRUCTION"]
