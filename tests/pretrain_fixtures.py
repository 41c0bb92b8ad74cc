"""Token shards and stage blends for the launcher tests, built by the mixture step from NTREX-128 text."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.build_mixture import build_mixture
from pipelines.tokenize_shards import tokenize_shards
from tests.shared_data import shared_path

FILES = {"en": "eng_Latn.txt", "zh": "zho_Hans.txt", "th": "tha_Thai.txt"}


def build_blends(root: Path, lines_per_language: int = 200, total_tokens: int = 100_000) -> Path:
    """``root/blends/stage-{1,2}.blend.json`` over en/zh/th shards; returns the blends folder."""
    for lang, name in FILES.items():
        (root / "curated" / lang).mkdir(parents=True)
        with open(shared_path("ntrex128", name), encoding="utf-8") as handle:
            lines = [line.rstrip("\n") for line in handle][:lines_per_language]
        pq.write_table(pa.table({"text": lines}), root / "curated" / lang / "part.parquet")
    tokenize_shards(str(root / "curated"), str(root / "tokens"), in_process=True)
    for stage in (1, 2):
        build_mixture(stage, str(root / "tokens"), str(root / "blends"), total_tokens=total_tokens)
    return root / "blends"


def blend_overrides(blends: Path) -> list:
    return [f"stages.{stage}.blend={blends / f'stage-{stage}.blend.json'}" for stage in (1, 2)]
