"""Local record files given as ``--input``: JSONL / JSON lines (plain or compressed), Parquet, and the Arrow
files of a Hugging Face ``save_to_disk`` folder, as the SFT, knowledge and preference pipelines take them. (Web inputs, remote ones included, are ``common.remote_files``.)

Files named explicitly and glob matches are always read; in a folder only record files (by name) are, and
the others (``SOURCE.md``, ``readme.txt``) are left out with one warning line per folder naming them."""

from __future__ import annotations

import glob
import logging
import os
from typing import List

from common.compressed_files import COMPRESSIONS
from common.config_check import ConfigError
from common.remote_files import describe_skipped

log = logging.getLogger(__name__)

SUFFIXES = (".jsonl", ".json", ".parquet", ".arrow")
# The metadata files of a `datasets` save_to_disk folder: not records.
DATASET_METADATA = ("state.json", "dataset_info.json", "dataset_dict.json")


def _is_input(path: str) -> bool:
    if os.path.basename(path) in DATASET_METADATA:
        return False
    return any(path.endswith(s + c) for s in SUFFIXES for c in ("",) + COMPRESSIONS
               if not (s in (".parquet", ".arrow") and c))


def expand_record_files(inputs: List[str]) -> List[str]:
    """Files, folders (searched recursively for record files) and globs, as absolute paths in the given
    order without repeats; a spec that matches nothing is one error naming it."""
    found: List[str] = []
    for spec in inputs:
        if os.path.isdir(spec):
            listed = sorted(glob.glob(os.path.join(spec, "**", "*"), recursive=True))
            matches = [p for p in listed if _is_input(p)]
            skipped = [p for p in listed if not _is_input(p) and os.path.isfile(p)
                       and os.path.basename(p) not in DATASET_METADATA]
            if skipped:
                log.warning("%s", describe_skipped(spec, skipped, "files that are not JSONL/JSON/Parquet/Arrow"))
        elif os.path.isfile(spec):
            matches = [spec]
        else:
            matches = sorted(p for p in glob.glob(spec) if os.path.isfile(p))
        if not matches:
            raise ConfigError(f"--input: nothing to read at {spec}")
        found.extend(os.path.abspath(p) for p in matches)
    return list(dict.fromkeys(found))
