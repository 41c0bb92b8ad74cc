"""Chosen/rejected pairs for DPO from existing preference data (paper §4.2.1).

    python pipelines/build_preferences.py --input arena.jsonl ultrafeedback.parquet --output prefs/

Recognized records (JSONL, optionally compressed, or Parquet):

* **pairs**: ``{"prompt": str | messages, "chosen": str | messages, "rejected": str | messages}``
  (UltraFeedback-binarized and most DPO sets; a messages list ends with the assistant reply);
* **LMSYS Chatbot Arena** (``lmsys-arena-human-preference-55k``): ``prompt``, ``response_a``,
  ``response_b`` (JSON lists of turns) and ``winner_model_a`` / ``winner_model_b`` / ``winner_tie``; the
  winner's reply is chosen, the first turn is used.

Writes ``OUT/preferences.jsonl`` (``{"id", "prompt": messages, "chosen": str, "rejected": str, "lang",
"source"}``) and ``OUT/stats.json`` with the reasons records are left out: ``read:*`` as the SFT reader,
``format:unknown``, ``pref:tie``, ``pref:identical`` (chosen equals rejected), ``pref:empty``, and
``pref:duplicate`` (the same prompt and pair again).

With ``--policy-url`` (and ``--judge-url``) the inputs are prompts instead (``{"prompt": str | messages}``):
each is answered twice by the policy endpoint and judged by the judge endpoint, both OpenAI-compatible
(``pipelines/preferences/generation.py``, paper §4.2.2):

    python pipelines/build_preferences.py --input prompts.jsonl --output prefs/ \
        --policy-url http://localhost:8000/v1 --policy-model marco-7b \
        --judge-url https://api.example.com/v1 --judge-model gpt-4o-mini --judge-key-env JUDGE_API_KEY
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from dataclasses import asdict
from typing import List, Optional, Tuple

from common.atomic_io import atomic_write, check_plan, finish_run
from common.config_check import ConfigError
from common.fingerprints import files_identity
from operators.sft.reader import read_records
from operators.stats import PipelineStats
from pipelines.preferences.generation import Endpoint, GenerationSettings, generate_pair, prompt_messages
from pipelines.runtime.cli import add_overwrite_argument
from pipelines.runtime.job_paths import check_job_paths
from pipelines.runtime.local_inputs import expand_record_files

REASONS = ("format:unknown", "pref:tie", "pref:identical", "pref:empty", "pref:duplicate")


def _turns(value) -> Optional[list]:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, list) else None
    return None


def _reply(value) -> Optional[str]:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[-1], dict) and value[-1].get("role") == "assistant":
        return value[-1].get("content") if isinstance(value[-1].get("content"), str) else None
    return None


def _prompt(value, chosen) -> Optional[List[dict]]:
    if isinstance(chosen, list) and len(chosen) > 1 and all(isinstance(m, dict) for m in chosen):
        return [{"role": m["role"], "content": m["content"]} for m in chosen[:-1]]
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, list) and all(isinstance(m, dict) and "role" in m for m in value):
        return [{"role": m["role"], "content": m["content"]} for m in value]
    return None


def to_pair(record: dict) -> Tuple[Optional[dict], Optional[str]]:
    """({"prompt", "chosen", "rejected"}, None) or (None, reason)."""
    if not isinstance(record, dict):
        return None, "format:unknown"
    if {"response_a", "response_b"} <= set(record):
        if record.get("winner_tie"):
            return None, "pref:tie"
        prompts, a, b = _turns(record.get("prompt")), _turns(record["response_a"]), _turns(record["response_b"])
        if not prompts or not a or not b or not all(isinstance(x, str) for x in (prompts[0], a[0], b[0])):
            return None, "format:unknown"
        if record.get("winner_model_a"):
            chosen, rejected = a[0], b[0]
        elif record.get("winner_model_b"):
            chosen, rejected = b[0], a[0]
        else:
            return None, "pref:tie"
        prompt = [{"role": "user", "content": prompts[0]}]
    elif {"chosen", "rejected"} <= set(record):
        chosen, rejected = _reply(record["chosen"]), _reply(record["rejected"])
        prompt = _prompt(record.get("prompt"), record["chosen"])
        if chosen is None or rejected is None or prompt is None:
            return None, "format:unknown"
    else:
        return None, "format:unknown"
    if not chosen.strip() or not rejected.strip() or not any(m["content"].strip() for m in prompt):
        return None, "pref:empty"
    if chosen.strip() == rejected.strip():
        return None, "pref:identical"
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected}, None


def build_preferences(inputs: List[str], output: str, policy: Optional[Endpoint] = None,
                      judge: Optional[Endpoint] = None, settings: Optional[GenerationSettings] = None,
                      overwrite: bool = False) -> PipelineStats:
    """Pairs from preference records, or generated and judged from prompts when ``policy`` is given."""
    locations = expand_record_files(inputs)
    output = os.path.abspath(output)
    endpoints = {"policy": asdict(policy) if policy else None, "judge": asdict(judge) if judge else None,
                 "generation": asdict(settings or GenerationSettings())}
    check_plan(output, {"pipeline": "build_preferences", "inputs": files_identity(locations), "settings": endpoints},
               overwrite)
    reader = "preference_generation" if policy is not None else "preference_reader"
    stats = PipelineStats([reader, "preference_dedup"])
    seen = set()
    kept = 0
    dup_dropped = 0
    path = os.path.join(output, "preferences.jsonl")
    with atomic_write(path) as handle:
        for location in locations:
            for number, record, problem in read_records(location):
                record_id = f"{location}:{number}"
                pair = None
                if problem is None and policy is not None:
                    prompt = prompt_messages(record)
                    if prompt is None:
                        problem = "format:unknown"
                    else:
                        pair, problem = generate_pair(prompt, policy, judge or policy, settings or GenerationSettings())
                elif problem is None:
                    pair, problem = to_pair(record)
                if problem is not None:
                    stats.add(reader, 1, 0, {problem: 1})
                    continue
                stats.add(reader, 1, 1, {})
                key = hashlib.sha256(json.dumps(pair, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
                if key in seen:
                    dup_dropped += 1
                    continue
                seen.add(key)
                kept += 1
                given = record.get("id") or record.get("question_id")
                handle.write(json.dumps({"id": str(given) if given else record_id, **pair,
                                         "lang": record.get("lang") or record.get("language"),
                                         "source": location}, ensure_ascii=False) + "\n")
    stats.add("preference_dedup", kept + dup_dropped, kept, {"pref:duplicate": dup_dropped} if dup_dropped else {})
    stats.add_kept({"pairs": kept})
    finish_run(output, stats, f"Preference pairs of {os.path.basename(os.path.abspath(output))}")
    return stats


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", nargs="+", required=True)
    parser.add_argument("--output", default="prefs",
                        help="output folder (default: %(default)s, where launch/dpo.py looks)")
    parser.add_argument("--policy-url", help="OpenAI-compatible endpoint that answers the prompts")
    parser.add_argument("--policy-model")
    parser.add_argument("--policy-key-env", help="environment variable holding the policy endpoint's API key")
    parser.add_argument("--judge-url", help="OpenAI-compatible endpoint of the judge (default: the policy's)")
    parser.add_argument("--judge-model")
    parser.add_argument("--judge-key-env", help="environment variable holding the judge endpoint's API key")
    parser.add_argument("--temperatures", type=float, nargs=2, default=[0.7, 1.0])
    add_overwrite_argument(parser)
    args = parser.parse_args(argv)
    try:
        check_job_paths("--output", [args.output])
        check_job_paths("--input", args.input)
        policy = judge = None
        if args.policy_url:
            if not args.policy_model:
                raise ConfigError("--policy-model: required with --policy-url")
            policy = Endpoint(args.policy_url, args.policy_model, args.policy_key_env)
            judge = Endpoint(args.judge_url or args.policy_url, args.judge_model or args.policy_model,
                             args.judge_key_env or args.policy_key_env)
        stats = build_preferences(args.input, args.output, policy, judge, GenerationSettings(list(args.temperatures)),
                                  args.overwrite)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(stats.table())
    return 0

