"""The answers of the endpoint, kept as they arrive, so that an interrupted run resumes without asking again.

One JSON line per answered (or failed) request, appended to ``OUT/_work/<name>.jsonl``: the line is written
whole, flushed and fsync'd before the next one, so a crash leaves at most one truncated last line, which is
ignored (and cut off before the next append). A request is *finished* when its latest line holds a response
and was made from the same prompt (``prompt_sha``: a digest of the messages, temperature, model and token
limit): a rerun never asks a finished request again, asks again the ones whose latest line is a failure, and
ignores lines made from another prompt.

The index holds (offset, length) per request id, not the lines: a journal of 100k long answers is read back
one line at a time.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Dict, Iterable, Optional, Tuple


def prompt_digest(messages: Iterable[dict], temperature: float, model: str, max_tokens: int) -> str:
    payload = json.dumps({"messages": list(messages), "temperature": temperature, "model": model,
                          "max_tokens": max_tokens}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _complete_size(path: str, size: int, block: int = 1 << 16) -> int:
    """The length of ``path`` up to and with its last newline (0 when it has none)."""
    with open(path, "rb") as reader:
        end = size
        while end > 0:
            start = max(0, end - block)
            reader.seek(start)
            data = reader.read(end - start)
            if start + len(data) == size and data.endswith(b"\n"):
                return size
            position = data.rfind(b"\n")
            if position >= 0:
                return start + position + 1
            end = start
    return 0


class Journal:
    """Append-only JSONL keyed by ``prompt_id``; the latest complete line of an id wins."""

    def __init__(self, path: str) -> None:
        self.path = path
        # id -> (offset, length, prompt_sha, answered)
        self._index: Dict[str, Tuple[int, int, str, bool]] = {}
        self._handle = None
        self._reader = None
        self.ignored_lines = 0
        self._scan()

    def _scan(self) -> None:
        if not os.path.exists(self.path):
            return
        offset = 0
        with open(self.path, "rb") as handle:
            for raw in handle:
                length = len(raw)
                if raw.endswith(b"\n"):
                    entry = self._parse(raw)
                    if entry is None:
                        self.ignored_lines += 1
                    else:
                        self._index[entry[0]] = (offset, length, entry[1], entry[2])
                else:
                    self.ignored_lines += 1   # the truncated last line of an interrupted run
                offset += length

    @staticmethod
    def _parse(raw: bytes) -> Optional[Tuple[str, str, bool]]:
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        if not isinstance(record, dict) or not isinstance(record.get("prompt_id"), str):
            return None
        return record["prompt_id"], str(record.get("prompt_sha")), isinstance(record.get("response"), str)

    def finished(self, prompt_id: str, sha: str) -> bool:
        entry = self._index.get(prompt_id)
        return entry is not None and entry[3] and entry[2] == sha

    def get(self, prompt_id: str, sha: str) -> Optional[dict]:
        """The latest line of ``prompt_id`` if it was made from this prompt (answered or failed)."""
        entry = self._index.get(prompt_id)
        if entry is None or entry[2] != sha:
            return None
        if self._reader is None:
            self._reader = open(self.path, "rb")
        self._reader.seek(entry[0])
        return json.loads(self._reader.read(entry[1]).decode("utf-8"))

    def __len__(self) -> int:
        return len(self._index)

    def _open(self):
        if self._handle is None:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            handle = open(self.path, "ab")
            size = handle.seek(0, os.SEEK_END)
            if size:
                keep = _complete_size(self.path, size)
                if keep != size:   # cut a truncated last line off before appending
                    handle.truncate(keep)
                    handle.seek(keep)
            self._handle = handle
        return self._handle

    def append(self, record: dict) -> None:
        """Write ``record`` (it holds ``prompt_id``, ``prompt_sha``, ``response`` or ``error``) as one whole,
        fsync'd line."""
        handle = self._open()
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        offset = handle.tell()
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
        self._index[record["prompt_id"]] = (offset, len(line), str(record.get("prompt_sha")),
                                            isinstance(record.get("response"), str))

    def close(self) -> None:
        for handle in (self._handle, self._reader):
            if handle is not None:
                handle.close()
        self._handle = self._reader = None

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["Journal", "prompt_digest"]
