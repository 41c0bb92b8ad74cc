"""Cleaning rules for instruction data (paper §4.1.1, "Data Cleaning"), each its own drop reason.

The rules read the assistant turns (what the model is trained to say):

* ``sft:merged_dialogue``: a reply that carries further turns of a conversation, i.e. a line opening
  with a speaker marker (``Human:``, ``User:``, ``Assistant:``, ``### Instruction``, ``<|im_start|>``,
  ``[INST]``, ``用户：``, ``助手：`` ...), as happens when multi-turn logs are flattened;
* ``sft:bad_numbering``: a numbered list (``1.``, ``2)``, ``3、``) whose items skip or repeat a number
  (a list may restart at 1);
* ``sft:html``: HTML markup in the reply outside code blocks (two or more tags, or an HTML document);
* ``sft:emoji``: emoji (Unicode ``Extended_Pictographic``);
* ``sft:url``: a hyperlink or URL;
* ``sft:wrong_arithmetic``: a written calculation whose result is wrong (:mod:`operators.sft.safe_arithmetic`).

``rules`` chooses which apply (all by default); the order above is the order of checking, so a reply
with several problems is counted under the first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import pyarrow as pa
import regex

from common.config_check import ConfigError
from operators.base import Filter, Reason
from operators.sft.safe_arithmetic import equations

RULES = ("merged_dialogue", "bad_numbering", "html", "emoji", "url", "wrong_arithmetic")

_CODE_BLOCK = regex.compile(r"```.*?(?:```|\Z)", regex.S)
_SPEAKER = regex.compile(
    r"^\s*(?:#{1,4}\s*(?:Human|User|Assistant|Instruction|Response|Input)\b|"
    r"(?:Human|User|Assistant|AI|Bot|Q|A)\s*[:：]|<\|im_start\|>|<\|im_end\|>|\[/?INST\]|<s>\s*\[INST\]|"
    r"(?:用户|助手|人类|问|答)\s*[:：])",
    regex.M | regex.I,
)
_NUMBERED = regex.compile(r"^\s{0,3}(\d{1,3})(?:[.)、]|\.\s)\s*\S", regex.M)
_HTML_TAG = regex.compile(r"</?(?:html|head|body|div|span|p|br|hr|a|img|table|thead|tbody|tr|td|th|ul|ol|li|"
                          r"h[1-6]|strong|em|b|i|u|font|center|script|style|iframe|form|input|button|section|"
                          r"article|nav|footer|header)\b[^<>]*>", regex.I)
_HTML_DOCUMENT = regex.compile(r"<!DOCTYPE html|<html[\s>]", regex.I)
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\U0001F1E6-\U0001F1FF]")
_COPYRIGHT_LIKE = set("©®™‼⁉")  # pictographic by Unicode, ordinary text in practice
_URL = regex.compile(r"(?:https?://|ftp://|www\.)[^\s<>\"'）)]+|\[[^\]]+\]\((?:https?://)[^)]+\)", regex.I)


@dataclass
class SftCleaningConfig:
    rules: List[str] = field(default_factory=lambda: list(RULES))

    def validate(self) -> None:
        unknown = [r for r in self.rules if r not in RULES]
        if unknown:
            raise ConfigError(f"rules: unknown rule {unknown[0]!r} (known: {', '.join(RULES)})")


def without_code(text: str) -> str:
    return _CODE_BLOCK.sub(" ", text)


def merged_dialogue(reply: str) -> bool:
    return _SPEAKER.search(without_code(reply)) is not None


def bad_numbering(reply: str) -> bool:
    previous = None
    for match in _NUMBERED.finditer(without_code(reply)):
        number = int(match.group(1))
        if previous is not None and number != previous + 1 and number != 1:
            return True
        if previous is None and number not in (0, 1):
            return True
        previous = number
    return False


def html(reply: str) -> bool:
    text = without_code(reply)
    return bool(_HTML_DOCUMENT.search(text)) or len(_HTML_TAG.findall(text)) >= 2


def emoji(reply: str) -> bool:
    return any(ch not in _COPYRIGHT_LIKE for ch in _EMOJI.findall(reply))


def url(reply: str) -> bool:
    return _URL.search(reply) is not None


def wrong_arithmetic(reply: str) -> bool:
    return any(not e.correct for e in equations(without_code(reply)))


CHECKS = {"merged_dialogue": merged_dialogue, "bad_numbering": bad_numbering, "html": html, "emoji": emoji,
          "url": url, "wrong_arithmetic": wrong_arithmetic}


def problem(messages: Sequence[dict], rules: Sequence[str]) -> Reason:
    replies = [m["content"] for m in messages if m["role"] == "assistant"]
    for rule in RULES:
        if rule in rules and any(CHECKS[rule](reply) for reply in replies):
            return f"sft:{rule}"
    return None


class SftCleaner(Filter):
    name = "sft_cleaning"

    def __init__(self, config: SftCleaningConfig) -> None:
        self.config = config

    def reasons(self, batch: pa.Table) -> List[Optional[str]]:
        return [problem(json.loads(m), self.config.rules) for m in batch.column("messages").to_pylist()]


__all__ = ["SftCleaner", "SftCleaningConfig", "RULES", "problem", "merged_dialogue", "bad_numbering", "html",
           "emoji", "url", "wrong_arithmetic"]
