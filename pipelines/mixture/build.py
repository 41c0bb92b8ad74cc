"""Plan a training stage's data blend from token shards (paper §3.2, Tables 1-3).

    python pipelines/build_mixture.py --stage 1 --tokens tokens/ --output blends/ [--config configs/mixture.yaml]
                                      [--total-tokens 3e9]

Reads ``TOKENS/manifest.json`` (``tokenize_shards.py``), splits the stage's token budget over
categories (Table 2), groups (equal shares, Table 1) and shards (``pipelines/mixture/plan.py``), and
writes ``OUTPUT/stage-N.blend.json``: every shard's path prefix, tokens available and used, epochs
and weight, plus the Megatron ``--data-path`` list (weight, prefix, weight, prefix, ...) that the
launcher uses. ``OUTPUT/stage-N.utilization.md`` is the Table-1-style report (available vs used
tokens, utilization %), also printed with the warnings (upsampled or short groups, empty categories).
``--total-tokens`` scales both stages' budgets so that they sum to it (the paper: 160B + 140B = 300B).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[2]  # the checkout: pipelines/mixture/ -> root

from common.atomic_io import write_json, write_text
from common.config_check import ConfigError, build, read_yaml_mapping
from pipelines.mixture.plan import MixtureConfig, MixturePlan, plan_stage, utilization_table

DEFAULT_CONFIG = ROOT / "configs" / "mixture.yaml"


def load_mixture_config(path: Optional[str]) -> MixtureConfig:
    return build(MixtureConfig, read_yaml_mapping("--config", str(path or DEFAULT_CONFIG)))


def read_manifest(tokens_dir: str) -> dict:
    path = os.path.join(tokens_dir, "manifest.json")
    if not os.path.isfile(path):
        raise ConfigError(f"--tokens: {path} not found (run pipelines/tokenize_shards.py first)")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def blend_document(plan: MixturePlan, tokens_dir: str) -> dict:
    used = sum(u.used for u in plan.shards)
    entries = [{"prefix": os.path.join(os.path.abspath(tokens_dir), u.shard), "group": u.group,
                "category": u.category, "available_tokens": u.available, "used_tokens": round(u.used),
                "epochs": round(u.epochs, 6), "weight": u.used / used if used else 0.0}
               for u in plan.shards if u.used > 0]
    data_path: List = []
    for entry in entries:
        data_path += [f"{entry['weight']:.10f}", entry["prefix"]]
    return {"stage": plan.stage, "budget_tokens": round(plan.budget), "planned_tokens": round(used),
            "category_budgets": {k: round(v) for k, v in plan.category_budgets.items()},
            "entries": entries, "megatron_data_path": data_path, "warnings": plan.warnings}


def build_mixture(stage: int, tokens_dir: str, output: str, config_path: Optional[str] = None,
                  total_tokens: Optional[float] = None) -> dict:
    config = load_mixture_config(config_path)
    manifest = read_manifest(tokens_dir)
    scale = 1.0
    if total_tokens is not None:
        if total_tokens <= 0:
            raise ConfigError("--total-tokens: must be positive")
        scale = total_tokens / sum(s.tokens for s in config.stages.values())
    plan = plan_stage(config, manifest, stage, scale)
    blend = blend_document(plan, tokens_dir)
    write_json(os.path.join(output, f"stage-{stage}.blend.json"), blend)
    table = utilization_table(plan)
    write_text(os.path.join(output, f"stage-{stage}.utilization.md"),
               f"# Stage {stage}: {plan.budget:,.0f} tokens planned\n\n{table}\n")
    print(f"Stage {stage}: budget {plan.budget:,.0f} tokens, planned {blend['planned_tokens']:,}\n{table}")
    for warning in plan.warnings:
        print(f"warning: {warning}")
    return blend


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", type=int, required=True, choices=(1, 2))
    parser.add_argument("--tokens", required=True, help="a tokenize_shards.py output (with manifest.json)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--config", help=f"mixture config (default: {DEFAULT_CONFIG.relative_to(ROOT)})")
    parser.add_argument("--total-tokens", type=float, help="scale both stages so that they sum to this")
    args = parser.parse_args(argv)
    try:
        build_mixture(args.stage, args.tokens, args.output, args.config, args.total_tokens)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0

