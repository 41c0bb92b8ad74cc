"""Plan a training stage's data blend from token shards (paper §3.2, Tables 1-3).

    python pipelines/build_mixture.py --stage 1 --tokens tokens/ [--output blends/] [--config configs/mixture.yaml]
                                      [--total-tokens 3e9]

Reads ``TOKENS/manifest.json`` (``tokenize_shards.py``), splits the stage's token budget over
categories (Table 2), groups (equal shares, Table 1) and shards (``pipelines/mixture/plan.py``), and
writes ``OUTPUT/stage-N.blend.json`` (``OUTPUT`` defaults to ``blends`` in the current directory, where
``launch/pretrain.py`` looks): every shard's path prefix, tokens available and used, epochs and weight,
plus the Megatron ``--data-path`` list (weight, prefix, weight, prefix, ...) that the launcher uses.
``OUTPUT/stage-N.utilization.md`` is the report, also printed with the warnings: the budget asked, the
budget the data supports and the tokens planned; per category the target share (Table 2) against the
realised one; per group (Table 1) available vs used tokens, utilization % and epochs.
``--total-tokens`` scales both stages' budgets so that they sum to it (the paper: 160B + 140B = 300B).

When the token shards cannot fill a stage's budget at its proportions (every group repeated
``max_epochs`` times would still be short), the stage is scaled down to the largest budget the data
fills at those proportions, with a warning (``keep_proportions`` in the mixture config; see
``plan.py``), so that stage 1 and stage 2 remain the different blends of Table 2.

Besides the entries, ``stage-N.blend.json`` records what it was planned from and what it realises:
``requested_tokens`` (the budget asked), ``budget_tokens`` (the budget planned for, scaled down or not),
``planned_tokens``, ``scaled_down``, per category ``target_shares`` (Table 2), ``stage_shares`` (planned
tokens / budget) and ``blend_shares`` (planned tokens / planned total: what training samples by), and
``built_from``: the ``manifest.json`` it read (path and SHA-256 of its bytes), the mixture config (path,
SHA-256 of its bytes and a digest of the resolved settings) and ``--total-tokens``. Building a blend is
cheap and deterministic, so a rerun simply replaces the stage's two files (atomically); a consumer
compares ``built_from.manifest.sha256`` with the manifest on disk to refuse a blend planned from token
shards that have since changed. A rerun also warns when the other stage's blend in the same folder was
built from another manifest or config.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[2]  # the checkout: pipelines/mixture/ -> root

from common.atomic_io import write_json, write_text
from common.config_check import ConfigError, build, config_dir, read_yaml_mapping
from common.fingerprints import content_digest
from pipelines.mixture.plan import (
    MixtureConfig,
    MixturePlan,
    plan_stage,
    shares_table,
    summary_lines,
    utilization_table,
)

DEFAULT_CONFIG = ROOT / "configs" / "mixture.yaml"
DEFAULT_OUTPUT = "blends"


def load_mixture_config(path: Optional[str]) -> MixtureConfig:
    path = str(path or DEFAULT_CONFIG)
    return build(MixtureConfig, read_yaml_mapping("--config", path), base_dir=config_dir(path))


def read_manifest(tokens_dir: str) -> dict:
    path = os.path.join(tokens_dir, "manifest.json")
    if not os.path.isfile(path):
        raise ConfigError(f"--tokens: {path} not found (run pipelines/tokenize_shards.py first)")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def settings_digest(config: MixtureConfig) -> str:
    """A digest of the resolved mixture settings (the same for two files that say the same)."""
    text = json.dumps(dataclasses.asdict(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def built_from(tokens_dir: str, config_path: Optional[str], config: MixtureConfig,
               total_tokens: Optional[float]) -> dict:
    manifest = os.path.abspath(os.path.join(tokens_dir, "manifest.json"))
    config_file = os.path.abspath(str(config_path or DEFAULT_CONFIG))
    return {"tool": "pipelines/build_mixture.py",
            "manifest": {"path": manifest, "sha256": content_digest(manifest)},
            "config": {"path": config_file, "sha256": content_digest(config_file),
                       "settings_digest": settings_digest(config)},
            "total_tokens": total_tokens}


def blend_document(plan: MixturePlan, tokens_dir: str, source: Optional[dict] = None) -> dict:
    used = plan.planned
    entries = [{"prefix": os.path.join(os.path.abspath(tokens_dir), u.shard), "group": u.group,
                "category": u.category, "available_tokens": u.available, "used_tokens": round(u.used),
                "epochs": round(u.epochs, 6), "weight": u.used / used if used else 0.0}
               for u in plan.shards if u.used > 0]
    data_path: List = []
    for entry in entries:
        data_path += [f"{entry['weight']:.10f}", entry["prefix"]]
    document = {"stage": plan.stage, "requested_tokens": round(plan.requested), "budget_tokens": round(plan.budget),
                "planned_tokens": round(used), "scaled_down": plan.scaled_down,
                "supportable_tokens": round(plan.supportable), "limiting_category": plan.limiting_category,
                "category_budgets": {k: round(v) for k, v in plan.category_budgets.items()},
                "target_shares": {k: round(v, 6) for k, v in plan.target_shares.items()},
                "stage_shares": {k: round(v, 6) for k, v in plan.stage_shares().items()},
                "blend_shares": {k: round(v, 6) for k, v in plan.blend_shares().items()},
                "entries": entries, "megatron_data_path": data_path, "warnings": plan.warnings}
    if source is not None:
        document["built_from"] = source
    return document


def report_text(plan: MixturePlan) -> str:
    return "\n".join(summary_lines(plan)) + "\n\n" + shares_table(plan) + "\n\n" + utilization_table(plan)


def other_stage_warnings(output: str, stage: int, source: dict) -> List[str]:
    """Warnings about the other stages' blends in ``output`` that were built from another manifest or config."""
    found = []
    if not os.path.isdir(output):
        return found
    for name in sorted(os.listdir(output)):
        if not (name.startswith("stage-") and name.endswith(".blend.json")) or name == f"stage-{stage}.blend.json":
            continue
        try:
            with open(os.path.join(output, name), encoding="utf-8") as handle:
                theirs = json.load(handle).get("built_from") or {}
        except (OSError, ValueError):
            continue
        changed = [what for what, key in (("manifest", ("manifest", "sha256")),
                                          ("mixture config", ("config", "settings_digest")))
                   if (theirs.get(key[0]) or {}).get(key[1]) != source[key[0]][key[1]]]
        if theirs.get("total_tokens") != source["total_tokens"]:
            changed.append("--total-tokens")
        if changed:
            found.append(f"{name} in {output} was built with another {', '.join(changed)} than this stage; rebuild it "
                         f"(pipelines/build_mixture.py --stage {name[len('stage-'):-len('.blend.json')]}) so that both "
                         f"stages come from the same data")
    return found


def build_mixture(stage: int, tokens_dir: str, output: str = DEFAULT_OUTPUT, config_path: Optional[str] = None,
                  total_tokens: Optional[float] = None) -> dict:
    config = load_mixture_config(config_path)
    manifest = read_manifest(tokens_dir)
    scale = 1.0
    if total_tokens is not None:
        if total_tokens <= 0:
            raise ConfigError("--total-tokens: must be positive")
        scale = total_tokens / sum(s.tokens for s in config.stages.values())
    plan = plan_stage(config, manifest, stage, scale)
    source = built_from(tokens_dir, config_path, config, total_tokens)
    blend = blend_document(plan, tokens_dir, source)
    blend["warnings"] = blend["warnings"] + other_stage_warnings(output, stage, source)
    if not blend["entries"]:
        raise ConfigError(f"--tokens: no token shard of {tokens_dir} belongs to a category with a share in stage "
                          f"{stage} (groups: {', '.join(sorted({e['group'] for e in manifest['shards']})) or 'none'})")
    write_json(os.path.join(output, f"stage-{stage}.blend.json"), blend)
    report = report_text(plan)
    warnings = "".join(f"* {w}\n" for w in blend["warnings"])
    write_text(os.path.join(output, f"stage-{stage}.utilization.md"),
               f"# Stage {stage} blend\n\n{report}\n" + (f"\n## Warnings\n\n{warnings}" if warnings else ""))
    print(f"Stage {stage} -> {os.path.join(output, f'stage-{stage}.blend.json')}\n{report}")
    for warning in blend["warnings"]:
        print(f"warning: {warning}")
    return blend


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", type=int, required=True, choices=(1, 2))
    parser.add_argument("--tokens", required=True, help="a tokenize_shards.py output (with manifest.json)")
    parser.add_argument("--output", default=DEFAULT_OUTPUT,
                        help="folder for stage-N.blend.json and stage-N.utilization.md (default: %(default)s, "
                             "in the current directory)")
    parser.add_argument("--config", help=f"mixture config (default: {DEFAULT_CONFIG.relative_to(ROOT)})")
    parser.add_argument("--total-tokens", type=float, help="scale both stages so that they sum to this")
    args = parser.parse_args(argv)
    try:
        build_mixture(args.stage, args.tokens, args.output, args.config, args.total_tokens)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
