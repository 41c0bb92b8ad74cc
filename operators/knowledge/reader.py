"""Knowledge records → documents: exported Hugging Face datasets (JSONL / Parquet, plain or compressed, or the
Arrow files of a ``datasets.save_to_disk`` folder) with a field mapping.

``fields`` maps roles to columns (a dotted path reaches into a struct: ARC's ``choices.text``)::

    fields: {context: passage, question: question, choices: options, answer: answer, solution: rationale, code: code}

Every role is optional, but a record needs at least one of question, solution or code. The text is the roles
in this order, separated by blank lines — the layout Llama-style QA pretraining data and the paper's
"High-quality Knowledge Data" share, readable as a document:

    {context}

    {question}

    A. {choice 1}
    B. {choice 2}
    ...

    Answer: {answer}          (an answer that is a choice's index or letter is written as that letter)

    {solution}

    ```
    {code}
    ```

A record missing every required role is dropped as ``knowledge:empty``; an unreadable line is ``read:*`` as in
the SFT reader. ``lang`` comes from ``lang_field``, else from ``lang`` (for a one-language set), else the
language-ID step decides; ``id`` from ``id_field``, else ``<file>:<row>``.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pyarrow as pa

from common.config_check import ConfigError
from operators.base import Outcome, OutcomeBatcher, Source
from operators.sft.reader import read_records

ROLES = ("context", "question", "choices", "answer", "solution", "code")
REQUIRED = ("question", "solution", "code")
KNOWLEDGE_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("lang", pa.string()),
                              ("source", pa.string())])


@dataclass
class KnowledgeReaderConfig:
    # role -> column (dotted path for struct fields); roles: context, question, choices, answer, solution, code.
    fields: Dict[str, str] = field(default_factory=lambda: {"question": "question", "answer": "answer"})
    id_field: Optional[str] = None
    lang_field: Optional[str] = None
    # The language of every record when there is no lang_field (null: language ID decides).
    lang: Optional[str] = None
    batch_size: int = 1000

    def validate(self) -> None:
        unknown = sorted(set(self.fields) - set(ROLES))
        if unknown:
            raise ConfigError(f"fields: unknown role {unknown[0]!r} (roles: {', '.join(ROLES)})")
        if not set(self.fields) & set(REQUIRED):
            raise ConfigError(f"fields: map at least one of {', '.join(REQUIRED)}")
        if self.batch_size <= 0:
            raise ConfigError("batch_size: must be positive")


def _get(record: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(record, dict):
            return None
        record = record.get(part)
    return record


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "\n".join(_text(v) for v in value if _text(v))
    return str(value).strip()


def _answer(value: Any, choices: List[str]) -> str:
    """An index or letter into the choices is written as the choice's letter."""
    if isinstance(value, bool) or value is None:
        return _text(value)
    if isinstance(value, int) and choices and 0 <= value < len(choices):
        return string.ascii_uppercase[value]
    return _text(value)


def layout(record: dict, fields: Dict[str, str]) -> str:
    """The document text of one record (module docstring)."""
    parts = []
    value = lambda role: _get(record, fields[role]) if role in fields else None  # noqa: E731
    for role in ("context", "question"):
        if _text(value(role)):
            parts.append(_text(value(role)))
    choices = value("choices")
    choices = [_text(c) for c in choices] if isinstance(choices, (list, tuple)) else []
    if choices:
        parts.append("\n".join(f"{string.ascii_uppercase[i % 26]}. {c}" for i, c in enumerate(choices)))
    answer = _answer(value("answer"), choices)
    if answer:
        parts.append(f"Answer: {answer}")
    if _text(value("solution")):
        parts.append(_text(value("solution")))
    if _text(value("code")):
        parts.append(f"```\n{_text(value('code'))}\n```")
    return "\n\n".join(parts)


class KnowledgeReader(Source):
    name = "knowledge_reader"

    def __init__(self, config: KnowledgeReaderConfig) -> None:
        self.config = config

    def read(self, location: str) -> Iterator[Outcome]:
        yield from OutcomeBatcher(self.config.batch_size, KNOWLEDGE_SCHEMA).batches(self._rows(location))

    def _rows(self, location: str) -> Iterator[Tuple[dict, Optional[str]]]:
        config = self.config
        for number, record, problem in read_records(location, config.batch_size):
            row = {"id": f"{location}:{number}", "text": None, "lang": None, "source": location}
            if problem is None:
                if not isinstance(record, dict):
                    problem = "read:not_an_object"
                elif not any(_text(_get(record, config.fields[r])) for r in REQUIRED if r in config.fields):
                    problem = "knowledge:empty"
                else:
                    given = _get(record, config.id_field) if config.id_field else None
                    lang = _get(record, config.lang_field) if config.lang_field else config.lang
                    row.update(id=str(given) if given not in (None, "") else row["id"],
                               text=layout(record, config.fields), lang=str(lang) if lang else None)
            yield row, problem


__all__ = ["KnowledgeReader", "KnowledgeReaderConfig", "layout", "ROLES", "KNOWLEDGE_SCHEMA"]
