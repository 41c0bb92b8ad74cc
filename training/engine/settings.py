"""Settings every training launcher shares (model source, precision, optimizer, checkpoints, logs), how a
config file and ``key=value`` overrides become a checked settings object, and the DeepSpeed ZeRO-3 config
the settings give: bf16, overlapped communication, 16-bit weights gathered on save, torch's AdamW as the
client optimizer.

**Paths.** A relative path written in a YAML config (``model``, ``data``, ``output_dir``, a stage's
``blend``) means relative to that file's folder, so a config works from any current directory; one given
as a ``key=value`` override means relative to the current directory, as any command-line path does. A
path the config leaves out takes the job's default, relative to the current directory: the places the
pipelines write by default (``blends/``, ``sft/``, ``prefs/``) and ``checkpoints/``. Every path is made
absolute when the config is loaded, so what the plan prints and what a rerun compares is unambiguous."""

from __future__ import annotations

import copy
import dataclasses
import os
import typing
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Type, TypeVar

import yaml

from common.config_check import (
    ConfigError,
    ConfigPath,
    PathOrName,
    build,
    config_dir,
    read_yaml_mapping,
    resolve_path,
    resolve_path_or_name,
)

PRECISIONS = ("bf16", "fp32")

T = TypeVar("T")


@dataclass
class EngineSettings:
    model: PathOrName = "Qwen/Qwen2-7B"  # a Hugging Face checkpoint folder or hub id
    # Random weights from the model's config.json instead of its checkpoint (tests, scaling studies),
    # with ``model_config`` replacing config.json values (e.g. a tiny test model's sizes).
    random_init: bool = False
    model_config: Dict[str, Any] = field(default_factory=dict)
    attn_implementation: str = "sdpa"  # or flash_attention_2 where flash-attn is installed
    precision: str = "bf16"           # bf16 (the paper's runs) or fp32
    gradient_checkpointing: bool = False
    micro_batch_size: int = 1
    adam_beta1: float = 0.9
    adam_beta2: float = 0.95
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seed: int = 1234
    save_every_steps: int = 1000
    keep_checkpoints: int = 2        # newest checkpoints kept; 0 keeps all
    output_dir: ConfigPath = "checkpoints"
    tensorboard: bool = True         # <run dir>/tensorboard beside logs/train.jsonl
    peak_tflops: Optional[float] = None  # per device, for MFU; None = looked up from the GPU's name

    def validate_engine(self) -> None:
        for name in ("micro_batch_size", "save_every_steps"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}: must be positive")
        if self.keep_checkpoints < 0:
            raise ConfigError("keep_checkpoints: must not be negative")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision: expected one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.model_config and not self.random_init:
            raise ConfigError("model_config: only applies with random_init: true (a checkpoint keeps its own shapes)")
        if self.peak_tflops is not None and self.peak_tflops <= 0:
            raise ConfigError("peak_tflops: must be positive")
        if self.grad_clip < 0 or self.weight_decay < 0:
            raise ConfigError("grad_clip, weight_decay: must not be negative")

    # What makes the model when it is another job's output (a later job's default ``model``), for the
    # message when it is missing: e.g. ".venv/bin/python launch/pretrain.py --stage 2".
    model_producer = ""

    def check_model_source(self, required: bool = True) -> Optional[str]:
        """A local model folder must hold config.json; a path that is not there, or a hub id that is not in the
        local Hugging Face cache (these machines download nothing), is one ConfigError naming the way to get it.
        With ``required=False`` (``--dry-run``: the model may be made or downloaded later) that message is
        returned instead; a folder without config.json is an error either way."""
        if os.path.isdir(self.model):
            if not os.path.isfile(os.path.join(self.model, "config.json")):
                raise ConfigError(f"model: {self.model} is a folder without config.json")
            return None
        problem = self._missing_model()
        if problem and required:
            raise ConfigError(problem)
        return problem

    def _missing_model(self) -> Optional[str]:
        if self.model.startswith((".", "/", "~")) or self.model.count("/") != 1 or os.path.exists(self.model):
            default = type(self).__dataclass_fields__["model"].default
            made_by = f"; it is made by `{self.model_producer}`, run that first" \
                if self.model_producer and os.path.abspath(self.model) == os.path.abspath(default) else ""
            return f"model: folder not found: {os.path.abspath(self.model)}{made_by} (or set model=FOLDER)"
        if hub_cached(self.model):
            return None
        name = self.model.split("/")[-1]
        return (f"model: {self.model} is not a local folder, and as a Hugging Face hub id it is not in the local "
                f"Hugging Face cache (nothing is downloaded here); download it where there is network "
                f"(`huggingface-cli download {self.model} --local-dir models/{name}`) and pass "
                f"model=models/{name}")


def hub_cached(repo_id: str) -> bool:
    """Whether the hub model ``repo_id`` has its config.json in the local Hugging Face cache."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def zero3_config(settings: EngineSettings, global_batch: int, world_size: int, key: str = "global batch",
                 unit: str = "samples", stated: str = "") -> dict:
    """DeepSpeed config for ``global_batch`` samples (rows, pairs: ``unit``) per optimizer step; ``stated`` is
    how ``key`` gave that number when it is in another unit (pretraining's tokens)."""
    per_step = settings.micro_batch_size * world_size
    if global_batch % per_step:
        given = stated or f"{global_batch} {unit} per step"
        raise ConfigError(f"{key}: {given} is not a multiple of micro_batch_size x world size "
                          f"({settings.micro_batch_size} x {world_size} = {per_step} {unit}); change {key}, "
                          f"micro_batch_size or the number of processes (--nodes x --nproc-per-node)")
    return {
        "train_batch_size": global_batch,
        "train_micro_batch_size_per_gpu": settings.micro_batch_size,
        "gradient_accumulation_steps": global_batch // per_step,
        "gradient_clipping": settings.grad_clip,
        "bf16": {"enabled": settings.precision == "bf16"},
        "zero_optimization": {"stage": 3, "overlap_comm": True, "contiguous_gradients": True,
                              "stage3_gather_16bit_weights_on_model_save": True},
        # AdamW is torch's (the client optimizer), so no fused op is compiled on machines without one.
        "zero_allow_untested_optimizer": True,
        "steps_per_print": 10**9,  # the trainers log every step themselves (training/engine/step_log.py)
    }


def apply_overrides(data: dict, overrides: List[str], cls: Optional[type] = None) -> dict:
    """``a.b.c=value`` (value parsed as YAML) into a copy of ``data``. With ``cls`` (the settings dataclass),
    the paths among the values are made absolute against the current directory first: a command-line path is
    relative to where the command runs, whatever folder the config file is in."""
    data = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        target = data
        parts = key.split(".")
        for part in parts[:-1]:
            target = target.setdefault(_existing_key(target, part), {})
            if not isinstance(target, dict):
                raise ConfigError(f"override {key}: {part} is not a mapping")
        value = yaml.safe_load(raw)
        if cls is not None:
            value = _resolve_paths(value, _annotation_at(cls, parts), None)
        target[_existing_key(target, parts[-1])] = value
    return data


def _existing_key(mapping: dict, part: str):
    """The mapping's own key for ``part`` (YAML reads ``stages: {1: ...}`` with int keys)."""
    return next((k for k in mapping if str(k) == part), part)


def _unwrap(annotation: Any) -> Any:
    if typing.get_origin(annotation) is typing.Union:
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return inner[0] if inner else annotation
    return annotation


def _annotation_at(cls: Any, parts: List[str]) -> Any:
    """The annotation of dotted key ``parts`` in dataclass ``cls`` (None where there is none)."""
    annotation = cls
    for part in parts:
        annotation = _unwrap(annotation)
        if dataclasses.is_dataclass(annotation):
            annotation = typing.get_type_hints(annotation).get(part)
        elif typing.get_origin(annotation) in (dict, typing.Dict):
            annotation = typing.get_args(annotation)[1]
        else:
            return None
    return annotation


def _resolve_paths(value: Any, annotation: Any, base_dir: Optional[str]) -> Any:
    """``value`` with the paths its ``annotation`` marks (:data:`ConfigPath`, :data:`PathOrName`) resolved
    against ``base_dir`` (None: the current directory); anything else, and values of the wrong type (for
    ``build`` to report), as they are."""
    annotation = _unwrap(annotation)
    if annotation is ConfigPath and isinstance(value, str):
        return resolve_path(value, base_dir)
    if annotation is PathOrName and isinstance(value, str):
        return resolve_path_or_name(value, base_dir)
    if dataclasses.is_dataclass(annotation) and isinstance(value, dict):
        hints = typing.get_type_hints(annotation)
        return {k: _resolve_paths(v, hints.get(str(k)), base_dir) for k, v in value.items()}
    if typing.get_origin(annotation) in (dict, typing.Dict) and isinstance(value, dict):
        inner = typing.get_args(annotation)[1]
        return {k: _resolve_paths(v, inner, base_dir) for k, v in value.items()}
    return value


def _absolute_defaults(settings: Any) -> None:
    """The path fields ``settings`` left at a relative default, made absolute against the current directory."""
    for item in dataclasses.fields(settings):
        value = getattr(settings, item.name)
        annotation = _unwrap(typing.get_type_hints(type(settings)).get(item.name))
        if annotation is ConfigPath and isinstance(value, str):
            setattr(settings, item.name, resolve_path(value, None))
        elif annotation is PathOrName and isinstance(value, str):
            setattr(settings, item.name, resolve_path_or_name(value, None))
        elif dataclasses.is_dataclass(value):
            _absolute_defaults(value)
        elif isinstance(value, dict):
            for inner in value.values():
                if dataclasses.is_dataclass(inner):
                    _absolute_defaults(inner)


def load_settings(cls: Type[T], path: Optional[str], overrides: List[str] = ()) -> T:
    """A config file (``--config``; its relative paths resolve against its folder) with ``key=value``
    overrides (their relative paths resolve against the current directory), checked; every path absolute."""
    data = read_yaml_mapping("--config", path) if path else {}
    settings = build(cls, apply_overrides(data, list(overrides), cls), base_dir=config_dir(path))
    _absolute_defaults(settings)
    return settings


__all__ = ["EngineSettings", "zero3_config", "apply_overrides", "load_settings", "hub_cached", "PRECISIONS"]
