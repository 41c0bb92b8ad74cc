"""How many tokens of each token shard a training stage uses (paper §3.2, Tables 1-3).

A stage's budget (tokens) is split over categories by the stage's proportions (Table 2); a
category's budget is split equally over the groups (languages, or language pairs) that it names and
that the token manifest has (Table 1: every high-resource language the same, every low-resource
language the same); a group's budget is spread over its shards in proportion to their tokens. A group
with more tokens than its budget is subsampled (epochs < 1); one with fewer is repeated, up to
``max_epochs``, with a warning; past that cap its budget stays partly unfilled and the report says so.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from common.config_check import ConfigError


@dataclass
class StageMixture:
    tokens: float
    proportions: Dict[str, float]

    def validate(self) -> None:
        if self.tokens <= 0:
            raise ConfigError("tokens: must be positive")
        if any(p < 0 for p in self.proportions.values()):
            raise ConfigError("proportions: must not be negative")
        total = sum(self.proportions.values())
        if abs(total - 1.0) > 1e-6:
            raise ConfigError(f"proportions: must sum to 1, they sum to {total:.4f}")


@dataclass
class MixtureConfig:
    stages: Dict[str, StageMixture] = field(default_factory=dict)
    categories: Dict[str, List[str]] = field(default_factory=dict)
    max_epochs: float = 4.0

    def validate(self) -> None:
        if self.max_epochs <= 0:
            raise ConfigError("max_epochs: must be positive")
        for name, stage in self.stages.items():
            unknown = sorted(set(stage.proportions) - set(self.categories))
            if unknown:
                raise ConfigError(f"stages.{name}.proportions: category {unknown[0]!r} is not in categories")

    def stage(self, number: int) -> StageMixture:
        if str(number) not in self.stages:
            raise ConfigError(f"--stage: {number} is not one of the config's stages ({', '.join(sorted(self.stages))})")
        return self.stages[str(number)]


@dataclass
class ShardUse:
    shard: str
    group: str
    category: str
    available: int
    used: float

    @property
    def epochs(self) -> float:
        return self.used / self.available if self.available else 0.0


@dataclass
class MixturePlan:
    stage: int
    budget: float
    shards: List[ShardUse]
    warnings: List[str]
    category_budgets: Dict[str, float]
    group_budgets: Dict[str, float]


def category_of(group: str, categories: Dict[str, List[str]]) -> Optional[str]:
    for category, patterns in categories.items():
        if any(fnmatch.fnmatchcase(group, pattern) for pattern in patterns):
            return category
    return None


def plan_stage(config: MixtureConfig, manifest: dict, stage: int, scale: float = 1.0) -> MixturePlan:
    mixture = config.stage(stage)
    budget = mixture.tokens * scale
    warnings: List[str] = []
    shards_by_group: Dict[str, List[dict]] = {}
    for entry in manifest["shards"]:
        shards_by_group.setdefault(entry["group"], []).append(entry)
    unplaced = sorted(g for g in shards_by_group if category_of(g, config.categories) is None)
    if unplaced:
        warnings.append(f"groups in no category (not used): {', '.join(unplaced)}")
    uses: List[ShardUse] = []
    category_budgets: Dict[str, float] = {}
    group_budgets: Dict[str, float] = {}
    for category, proportion in mixture.proportions.items():
        category_budgets[category] = budget * proportion
        groups = sorted(g for g in shards_by_group if category_of(g, config.categories) == category)
        if not groups:
            if proportion > 0:
                warnings.append(f"{category}: no token shards; its {proportion:.0%} of the stage stays unfilled")
            continue
        for group in groups:
            group_budget = budget * proportion / len(groups)
            group_budgets[group] = group_budget
            available = sum(e["tokens"] for e in shards_by_group[group])
            epochs = group_budget / available if available else 0.0
            if epochs > config.max_epochs:
                warnings.append(f"{category}/{group}: {available:,} tokens for a budget of {group_budget:,.0f}: "
                                f"repeated {config.max_epochs:g} times (max_epochs), "
                                f"{group_budget - available * config.max_epochs:,.0f} tokens short")
                epochs = config.max_epochs
            elif epochs > 1:
                warnings.append(f"{category}/{group}: upsampled {epochs:.2f} times to meet its budget")
            for entry in shards_by_group[group]:
                uses.append(ShardUse(entry["shard"], group, category, entry["tokens"], entry["tokens"] * epochs))
    return MixturePlan(stage, budget, uses, warnings, category_budgets, group_budgets)


def utilization_table(plan: MixturePlan) -> str:
    """Table 1's columns per category and group: available, used, utilization, epochs."""
    lines = ["| category | group | available tokens | used tokens | utilization % | epochs |",
             "|---|---|---:|---:|---:|---:|"]
    rows: Dict[tuple, List[float]] = {}
    for use in plan.shards:
        row = rows.setdefault((use.category, use.group), [0, 0.0])
        row[0] += use.available
        row[1] += use.used
    for (category, group), (available, used) in sorted(rows.items()):
        lines.append(f"| {category} | {group} | {available:,} | {used:,.0f} | {100 * used / available:.1f} | "
                     f"{used / available:.3f} |")
    available = sum(r[0] for r in rows.values())
    used = sum(r[1] for r in rows.values())
    if available:
        lines.append(f"| total | | {available:,} | {used:,.0f} | {100 * used / available:.1f} | |")
    return "\n".join(lines)
