"""Instruction data into one conversation format (paper §4.1.1).

A location is a JSONL file (plain, ``.gz``, ``.xz``, ``.bz2`` or ``.zst``) or a Parquet file. Each record
is recognized by its fields:

* **messages**: ``{"messages": [{"role": "system"|"user"|"assistant", "content": ...}, ...]}`` (OpenAI,
  Hugging Face chat datasets); ``conversation`` / ``conversations`` lists of the same shape too;
* **Alpaca**: ``{"instruction", "input" (optional), "output", "system" (optional)}``: the user turn is
  the instruction, then a blank line and the input when there is one;
* **ShareGPT**: ``{"conversations": [{"from": "human"|"user"|"gpt"|"assistant"|"system", "value": ...}]}``.

Rows: ``id`` (the record's ``id`` field, else ``<location>:<line>``), ``messages`` (JSON of the
normalized list), ``instruction`` (the first user turn), ``lang`` (the record's ``lang`` / ``language``
field, else null) and ``source``. Problems are counted placeholder rows: ``read:bad_encoding``,
``read:bad_json`` (not JSON, or nested deeper than Python parses), ``read:truncated``, ``read:corrupt`` (a
damaged Parquet or Arrow file), ``format:unknown`` (no recognized fields), ``format:bad_message`` (a turn
without a known role or text), ``format:empty_turn`` and ``format:no_assistant_turn``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

import pyarrow as pa

from common.compressed_files import decode_utf8, decompressed_lines
from common.config_check import ConfigError
from operators.base import Outcome, OutcomeBatcher, Source

SFT_SCHEMA = pa.schema([("id", pa.string()), ("messages", pa.string()), ("instruction", pa.string()),
                        ("lang", pa.string()), ("source", pa.string())])
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "chatgpt": "assistant", "bing": "assistant", "bard": "assistant", "system": "system"}

log = logging.getLogger(__name__)


@dataclass
class SftReaderConfig:
    batch_size: int = 1000

    def validate(self) -> None:
        if self.batch_size <= 0:
            raise ConfigError("batch_size: must be positive")


def to_messages(record: dict) -> Tuple[Optional[List[dict]], Optional[str]]:
    """(normalized messages, None) or (None, reason)."""
    if not isinstance(record, dict):
        return None, "format:unknown"
    turns = next((record[k] for k in ("messages", "conversation", "conversations") if isinstance(record.get(k), list)),
                 None)
    if turns is not None:
        messages = []
        for turn in turns:
            if not isinstance(turn, dict):
                return None, "format:bad_message"
            role = turn.get("role", SHAREGPT_ROLES.get(str(turn.get("from", "")).lower()))
            content = turn.get("content", turn.get("value"))
            if role not in ("system", "user", "assistant") or not isinstance(content, str):
                return None, "format:bad_message"
            messages.append({"role": role, "content": content})
    elif isinstance(record.get("instruction"), str) and isinstance(record.get("output"), str):
        user = record["instruction"]
        if isinstance(record.get("input"), str) and record["input"].strip():
            user = f"{user}\n\n{record['input']}"
        messages = [{"role": "user", "content": user}, {"role": "assistant", "content": record["output"]}]
        if isinstance(record.get("system"), str) and record["system"].strip():
            messages.insert(0, {"role": "system", "content": record["system"]})
    else:
        return None, "format:unknown"
    if any(not m["content"].strip() for m in messages if m["role"] != "system"):
        return None, "format:empty_turn"
    if not any(m["role"] == "assistant" for m in messages):
        return None, "format:no_assistant_turn"
    return messages, None


class SftReader(Source):
    name = "sft_reader"

    def __init__(self, config: SftReaderConfig) -> None:
        self.config = config

    def read(self, location: str) -> Iterator[Outcome]:
        yield from OutcomeBatcher(self.config.batch_size, SFT_SCHEMA).batches(self._rows(location))

    def _rows(self, location: str) -> Iterator[Tuple[dict, Optional[str]]]:
        for number, record, problem in read_records(location, self.config.batch_size):
            row = {"id": f"{location}:{number}", "messages": None, "instruction": None, "lang": None,
                   "source": location}
            if problem is None:
                messages, problem = to_messages(record)
                if messages is not None:
                    given = record.get("id")
                    row.update(id=str(given) if given not in (None, "") else row["id"],
                               messages=json.dumps(messages, ensure_ascii=False),
                               instruction=next((m["content"] for m in messages if m["role"] == "user"), ""),
                               lang=record.get("lang") or record.get("language"))
            yield row, problem


def read_records(location: str, batch_size: int = 1000) -> Iterator[Tuple[int, Optional[dict], Optional[str]]]:
    """(line or row number, record, problem) of a JSONL, Parquet or Arrow file (a ``datasets`` save_to_disk
    shard: an Arrow IPC stream); problems are read:* reasons. A Parquet or Arrow file that is damaged gives the
    records before the damage, then one ``read:corrupt`` row."""
    if location.endswith((".arrow", ".parquet")):
        yield from _columnar_records(location, batch_size)
        return
    for number, (raw, problem) in enumerate(decompressed_lines(location), start=1):
        if problem is not None:
            yield number, None, problem
            return
        if not raw.strip():
            continue
        text = decode_utf8(raw)
        if text is None:
            yield number, None, "read:bad_encoding"
            continue
        try:
            record = json.loads(text)
        except (json.JSONDecodeError, RecursionError):   # RecursionError: nested deeper than Python's stack
            yield number, None, "read:bad_json"
            continue
        yield number, record, None


def _columnar_records(location: str, batch_size: int) -> Iterator[Tuple[int, Optional[dict], Optional[str]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    number = 0
    try:
        if location.endswith(".arrow"):
            with pa.memory_map(location) as source:
                for batch in pa.ipc.open_stream(source):
                    for record in batch.to_pylist():
                        number += 1
                        yield number, record, None
        else:
            for batch in pq.ParquetFile(location).iter_batches(batch_size=batch_size):
                for record in batch.to_pylist():
                    number += 1
                    yield number, record, None
    except FileNotFoundError:
        raise
    except (OSError, pa.ArrowException, ValueError) as exc:   # cut short, bad magic, corrupt pages
        log.warning("read:corrupt: %s after %d records: %s", location, number, exc)
        yield number + 1, None, "read:corrupt"


__all__ = ["SftReader", "SftReaderConfig", "to_messages", "read_records", "SFT_SCHEMA"]
