"""Pluggable quality scores for instruction data (paper §4.1.1 selects data by quality; IFD, the
instruction-following difficulty of Li et al. 2024, is one such score).

Each entry of ``scoring`` names a function by ``module:attribute``; it takes a list of conversations
(each a list of ``{"role", "content"}`` messages) and returns one float per conversation, higher meaning
better. Its scores are stored as ``score_<name>``; with ``min`` set, conversations scoring below it are
dropped as ``score:<name>``. Functions are imported once per worker, when the step is set up; a name
that cannot be imported is one ConfigError before any work starts.

    scoring:
      - {name: ifd, function: my_scores:ifd, min: 0.1}    # e.g. IFD computed with your model
"""

from __future__ import annotations

import importlib
import json
import math
from dataclasses import dataclass
from typing import Callable, List, Optional

import pyarrow as pa

from common.config_check import ConfigError
from operators.base import Operator, Outcome


@dataclass
class ScoreHook:
    name: str = ""
    function: str = ""
    min: Optional[float] = None

    def validate(self) -> None:
        if not self.name.isidentifier():
            raise ConfigError(f"name: {self.name!r} is not a valid column suffix")
        if ":" not in self.function:
            raise ConfigError(f"function: expected module:attribute, got {self.function!r}")


def load_function(spec: str, key: str = "function") -> Callable:
    module_name, _, attribute = spec.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{key}: cannot import {spec} ({exc})") from None
    if not callable(function):
        raise ConfigError(f"{key}: {spec} is not callable")
    return function


class SftScorer(Operator):
    name = "sft_scoring"

    def __init__(self, hooks: List[ScoreHook]) -> None:
        self.hooks = hooks
        self.functions: List[Callable] = []

    def setup(self) -> None:
        self.functions = [load_function(h.function, f"scoring.{h.name}.function") for h in self.hooks]

    def process(self, batch: pa.Table) -> Outcome:
        conversations = [json.loads(m) for m in batch.column("messages").to_pylist()]
        reasons: List[Optional[str]] = [None] * batch.num_rows
        table = batch
        for hook, function in zip(self.hooks, self.functions):
            scores = [float(s) for s in function(conversations)]
            if len(scores) != batch.num_rows:
                raise ValueError(f"scoring {hook.name}: {len(scores)} scores for {batch.num_rows} conversations")
            table = table.append_column(f"score_{hook.name}", pa.array(scores, type=pa.float32()))
            if hook.min is not None:
                for i, score in enumerate(scores):
                    if reasons[i] is None and (math.isnan(score) or score < hook.min):
                        reasons[i] = f"score:{hook.name}"
        return Outcome(table, reasons)


__all__ = ["ScoreHook", "SftScorer", "load_function"]
