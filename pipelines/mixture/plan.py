"""How many tokens of each token shard a training stage uses (paper §3.2, Tables 1-3).

The split, top down:

* **Categories** (Table 2): the stage's budget (``tokens``, scaled by ``--total-tokens``) times the
  category's proportion. A category without token shards gets nothing (a warning says so): its share of
  the stage stays unfilled and the other categories keep theirs, so in the blend each category has its
  Table 2 share divided by the share of the categories that have data.
* **Groups** (Table 1): a category's tokens are split equally over its groups (languages, or language
  pairs, of the manifest). A group with more tokens than its share is subsampled (epochs < 1); one with
  fewer is repeated (a warning), at most ``max_epochs`` times; what a group cannot supply at that cap is
  shared equally by the category's other groups (each again at most ``max_epochs``), so that the
  category still gets its Table 2 share whenever its data allows.
* **Shards**: a group's tokens are spread over its shards in proportion to their tokens (every shard
  of a group has the same epochs).

**When the data cannot fill the stage.** A category can supply at most ``max_epochs`` times its tokens.
When the stage's budget asks more of some category than that, the budget and Table 2's proportions
cannot both be met. With ``keep_proportions: true`` (the default) the proportions win: the stage is
scaled down to the largest budget at which every category with data gets exactly its Table 2 share
(the limiting category then has every group at ``max_epochs``), and a warning names the budget asked,
the budget the data supports and the category that limits it. The proportions are what makes stage 1
and stage 2 different blends; without this, a budget far above the data (e.g. the paper's 160B on a
small curated sample) caps every group at ``max_epochs`` and both stages come out the same blend, with
shares that match neither stage. With ``keep_proportions: false`` the budget is kept, short categories
stay partly unfilled, and a warning gives the realised shares next to the stage's target shares.

:class:`MixturePlan` carries, per category, the target share (Table 2), the tokens planned, the share
of the stage's budget they make up (``stage_shares``: equal to the target shares for the categories
with data when the proportions are kept) and their share of the blend's tokens (``blend_shares``: the
shares training samples by).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from common.config_check import ConfigError

# Relative slack for comparing token amounts computed in floating point.
EPSILON = 1e-9


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
    # When the data cannot fill a stage's budget at its proportions: True scales the stage down to what
    # the data supports at those proportions; False keeps the budget and lets the proportions slip.
    keep_proportions: bool = True

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
    budget: float                       # the tokens the stage aims at (requested, or scaled down)
    shards: List[ShardUse]
    warnings: List[str]
    category_budgets: Dict[str, float]  # budget x Table 2 proportion
    group_budgets: Dict[str, float]     # what each group was given
    requested: float = 0.0              # config tokens x --total-tokens scale
    supportable: float = 0.0            # the largest budget the data fills at the stage's proportions
    limiting_category: Optional[str] = None
    scaled_down: bool = False
    target_shares: Dict[str, float] = field(default_factory=dict)

    @property
    def planned(self) -> float:
        return sum(u.used for u in self.shards)

    def category_tokens(self) -> Dict[str, float]:
        used = {category: 0.0 for category in self.target_shares}
        for use in self.shards:
            used[use.category] = used.get(use.category, 0.0) + use.used
        return used

    def stage_shares(self) -> Dict[str, float]:
        """Tokens planned per category as a share of the stage's budget (Table 2's sense of a share)."""
        return {c: (t / self.budget if self.budget else 0.0) for c, t in self.category_tokens().items()}

    def blend_shares(self) -> Dict[str, float]:
        """Tokens planned per category as a share of the blend (what training samples by)."""
        planned = self.planned
        return {c: (t / planned if planned else 0.0) for c, t in self.category_tokens().items()}


def category_of(group: str, categories: Dict[str, List[str]]) -> Optional[str]:
    for category, patterns in categories.items():
        if any(fnmatch.fnmatchcase(group, pattern) for pattern in patterns):
            return category
    return None


def fill_groups(budget: float, capacities: Dict[str, float]) -> Dict[str, float]:
    """Equal shares of ``budget`` over groups, none above its capacity; what a capped group cannot take is
    shared equally by the others (water-filling). The sum falls short of ``budget`` only when every group is
    at its capacity."""
    given: Dict[str, float] = {}
    open_groups = sorted(capacities)
    remaining = budget
    while open_groups:
        share = remaining / len(open_groups)
        capped = [g for g in open_groups if capacities[g] <= share * (1 + EPSILON)]
        if not capped:
            given.update({g: share for g in open_groups})
            break
        for group in capped:
            given[group] = capacities[group]
            remaining -= capacities[group]
        open_groups = [g for g in open_groups if g not in capped]
    return given


def _shares_text(shares: Dict[str, float], targets: Dict[str, float]) -> str:
    return ", ".join(f"{c} {shares.get(c, 0.0):.3f} (target {t:.3f})" for c, t in targets.items())


def plan_stage(config: MixtureConfig, manifest: dict, stage: int, scale: float = 1.0) -> MixturePlan:
    mixture = config.stage(stage)
    requested = mixture.tokens * scale
    warnings: List[str] = []
    shards_by_group: Dict[str, List[dict]] = {}
    for entry in manifest["shards"]:
        shards_by_group.setdefault(entry["group"], []).append(entry)
    unplaced = sorted(g for g in shards_by_group if category_of(g, config.categories) is None)
    if unplaced:
        warnings.append(f"groups in no category (not used): {', '.join(unplaced)}")
    available = {g: sum(e["tokens"] for e in entries) for g, entries in shards_by_group.items()}
    groups_of = {c: sorted(g for g in shards_by_group if category_of(g, config.categories) == c)
                 for c in mixture.proportions}
    capacity = {c: sum(available[g] for g in groups) * config.max_epochs for c, groups in groups_of.items()}

    # Categories with a share and with data; the others' shares stay unfilled.
    with_data = {c: p for c, p in mixture.proportions.items() if p > 0 and capacity[c] > 0}
    for category, proportion in mixture.proportions.items():
        if proportion > 0 and category not in with_data:
            warnings.append(f"{category}: no token shards; its {proportion:.0%} of the stage stays unfilled")
    supportable = min((capacity[c] / p for c, p in with_data.items()), default=0.0)
    limiting = min(with_data, key=lambda c: capacity[c] / with_data[c]) if with_data else None

    budget = requested
    scaled_down = False
    if limiting is not None and requested > supportable * (1 + EPSILON):
        tokens = capacity[limiting] / config.max_epochs
        short = (f"the token shards cannot fill stage {stage}'s budget of {requested:,.0f} tokens at its proportions: "
                 f"{limiting} ({len(groups_of[limiting])} groups, {tokens:,.0f} tokens, at most "
                 f"{config.max_epochs:g} epochs) supports at most {supportable:,.0f}")
        if config.keep_proportions:
            budget = supportable
            scaled_down = True
            warnings.insert(0, f"{short}; the stage is scaled down to {supportable:,.0f} tokens to keep its "
                               f"proportions (keep_proportions: true). Add {limiting} data, raise max_epochs, or set "
                               f"keep_proportions: false to keep the budget instead")

    uses: List[ShardUse] = []
    category_budgets: Dict[str, float] = {}
    group_budgets: Dict[str, float] = {}
    for category, proportion in mixture.proportions.items():
        category_budgets[category] = budget * proportion
        groups = groups_of[category]
        if proportion <= 0 or category not in with_data:
            continue
        equal = category_budgets[category] / len(groups)
        given = fill_groups(category_budgets[category], {g: available[g] * config.max_epochs for g in groups})
        for group in groups:
            group_budgets[group] = given[group]
            epochs = min(given[group] / available[group], config.max_epochs) if available[group] else 0.0
            if equal > available[group] * config.max_epochs * (1 + EPSILON):
                missing = equal - available[group] * config.max_epochs
                made_up = sum(given.values()) >= category_budgets[category] * (1 - 1e-6)
                warnings.append(f"{category}/{group}: {available[group]:,} tokens for an equal share of {equal:,.0f}: "
                                f"repeated {config.max_epochs:g} times (max_epochs), {missing:,.0f} tokens short"
                                + (f", made up by the other {category} groups" if made_up and len(groups) > 1 else ""))
            elif epochs > 1 + EPSILON:
                warnings.append(f"{category}/{group}: upsampled {epochs:.2f} times to meet its share")
            for entry in shards_by_group[group]:
                uses.append(ShardUse(entry["shard"], group, category, entry["tokens"], entry["tokens"] * epochs))

    plan = MixturePlan(stage, budget, uses, warnings, category_budgets, group_budgets, requested, supportable,
                       limiting, scaled_down, dict(mixture.proportions))
    if limiting is not None and not scaled_down and requested > supportable * (1 + EPSILON):
        warnings.insert(0, f"{short}; keep_proportions: false keeps the budget, so only {plan.planned:,.0f} tokens are "
                           f"planned and the shares differ from the stage's: "
                           f"{_shares_text(plan.stage_shares(), plan.target_shares)} of the budget; in the blend "
                           f"{_shares_text(plan.blend_shares(), _normalized(with_data, plan.target_shares))}")
    return plan


def _normalized(with_data: Dict[str, float], targets: Dict[str, float]) -> Dict[str, float]:
    """The stage's shares over the categories that have data (what the blend's shares should be)."""
    total = sum(with_data.values())
    return {c: (with_data.get(c, 0.0) / total if total else 0.0) for c in targets}


def expected_blend_shares(plan: MixturePlan) -> Dict[str, float]:
    """Target shares renormalized over the categories the plan gives tokens to."""
    used = plan.category_tokens()
    return _normalized({c: p for c, p in plan.target_shares.items() if used.get(c, 0.0) > 0}, plan.target_shares)


def summary_lines(plan: MixturePlan) -> List[str]:
    """Budget asked, budget aimed at and tokens planned, in words (the report's and the printout's header)."""
    lines = [f"Budget asked: {plan.requested:,.0f} tokens"]
    if plan.scaled_down:
        lines.append(f"Budget the data supports at the stage's proportions: {plan.budget:,.0f} tokens "
                     f"(scaled down; {plan.limiting_category} is the limit)")
    planned = plan.planned
    fraction = planned / plan.requested if plan.requested else 0.0
    lines.append(f"Planned: {planned:,.0f} tokens ({100 * fraction:.4g} % of the budget asked)")
    return lines


def shares_table(plan: MixturePlan) -> str:
    """Per category: the target share (Table 2), the tokens planned, the share of the stage's budget they
    make up, and their share of the blend against what it should be."""
    used = plan.category_tokens()
    stage, blend, expected = plan.stage_shares(), plan.blend_shares(), expected_blend_shares(plan)
    lines = ["| category | target share | planned tokens | share of the stage | share of the blend | "
             "target share of the blend |",
             "|---|---:|---:|---:|---:|---:|"]
    for category, target in plan.target_shares.items():
        lines.append(f"| {category} | {target:.3f} | {used.get(category, 0.0):,.0f} | {stage.get(category, 0.0):.3f} | "
                     f"{blend.get(category, 0.0):.3f} | {expected.get(category, 0.0):.3f} |")
    return "\n".join(lines)


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
        utilization = f"{100 * used / available:.1f}" if available else "-"
        epochs = f"{used / available:.3f}" if available else "-"
        lines.append(f"| {category} | {group} | {available:,} | {used:,.0f} | {utilization} | {epochs} |")
    available = sum(r[0] for r in rows.values())
    used = sum(r[1] for r in rows.values())
    if available:
        lines.append(f"| total | | {available:,} | {used:,.0f} | {100 * used / available:.1f} | |")
    return "\n".join(lines)
