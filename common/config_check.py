"""Turning YAML mappings into typed dataclass configs, with one clear error per bad key.

Every operator config is a dataclass; :func:`build` fills it from a mapping, rejects unknown keys and
wrong types, and reports the full dotted key (``langid.min_score.ms``) so a user can find it.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from typing import Any, Mapping, NewType, Optional, Type, TypeVar

T = TypeVar("T")

# A file or folder named in a config. A relative one in a YAML file means relative to that file's folder (so a
# config works from any current directory); given on the command line, relative to the current directory.
# Absolute paths, URLs (``s3://...``) and "" (which some keys use for "disabled") are kept as they are.
ConfigPath = NewType("ConfigPath", str)
# A local folder or a name another registry resolves (a Hugging Face hub id such as ``Qwen/Qwen2-7B``): made
# relative to the config's folder when that path exists there, else kept as the name it is.
PathOrName = NewType("PathOrName", str)


def resolve_path(value: str, base_dir: Optional[str]) -> str:
    """``value`` (a :data:`ConfigPath`) made absolute against ``base_dir`` (None: the current directory)."""
    if not value or "://" in value or os.path.isabs(value):
        return value
    return os.path.normpath(os.path.join(os.path.abspath(base_dir or os.curdir), os.path.expanduser(value)))


def resolve_path_or_name(value: str, base_dir: Optional[str]) -> str:
    path = resolve_path(value, base_dir)
    return path if os.path.exists(path) else value


class ConfigError(ValueError):
    """A bad configuration value or a missing file, raised before any work starts."""


def _check_value(key: str, value: Any, annotation: Any, base_dir: Optional[str] = None) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin is typing.Union:  # Optional[X]
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _check_value(key, value, inner[0], base_dir)
    if annotation in (ConfigPath, PathOrName):
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a path, got {value!r}")
        return (resolve_path if annotation is ConfigPath else resolve_path_or_name)(value, base_dir)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return build(annotation, value, prefix=key, base_dir=base_dir)
    if origin in (dict, typing.Dict) or annotation is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        vtype = args[1] if args else Any
        return {str(k): _check_value(f"{key}.{k}", v, vtype, base_dir) for k, v in value.items()}
    if origin in (list, tuple, typing.List, typing.Tuple) or annotation in (list, tuple):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        etype = args[0] if args else Any
        items = [_check_value(f"{key}[{i}]", v, etype, base_dir) for i, v in enumerate(value)]
        return tuple(items) if origin in (tuple, typing.Tuple) else items
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    return value


def build(cls: Type[T], data: Mapping[str, Any] | None, prefix: str = "", base_dir: Optional[str] = None) -> T:
    """Instantiate dataclass ``cls`` from ``data``; unknown keys and wrong types raise ConfigError. Relative
    :data:`ConfigPath` values resolve against ``base_dir`` (the YAML file's folder; None: the current one)."""
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{prefix}." if prefix else ""
        raise ConfigError(
            f"unknown config key {where}{unknown[0]} (known keys: {', '.join(sorted(fields))})"
        )
    kwargs = {}
    for name, value in data.items():
        key = f"{prefix}.{name}" if prefix else name
        kwargs[name] = _check_value(key, value, hints[name], base_dir)
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        try:
            validate()
        except ConfigError as exc:
            raise ConfigError(f"{prefix}.{exc}" if prefix else str(exc)) from None
    return obj


def check_section_files(config: Any) -> None:
    """Call ``check_files()`` of every section of ``config`` (a dataclass) that has one, in field order: every
    model and list the job will load exists, or one error names its key and path, before any work."""
    for item in dataclasses.fields(config):
        section = getattr(config, item.name)
        if hasattr(section, "check_files"):
            section.check_files()


def require_file(key: str, path: str) -> str:
    """The path if it is a readable file, else a ConfigError naming the key and the path."""
    if not os.path.isfile(path):
        raise ConfigError(f"{key}: file not found: {path}")
    return path


def config_dir(path: Optional[str]) -> Optional[str]:
    """The folder relative paths in the config file ``path`` resolve against (None without a file)."""
    return os.path.dirname(os.path.abspath(path)) if path else None


def read_yaml_mapping(key: str, path: str) -> dict:
    """The top-level mapping of a YAML file; a missing file or bad YAML is a ConfigError naming ``key``."""
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    except FileNotFoundError:
        raise ConfigError(f"{key}: file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{key} {path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{key} {path}: expected a mapping at the top level")
    return data
