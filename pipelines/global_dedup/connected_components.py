"""Connected components of a graph too large for one machine: alternating large-star / small-star.

The algorithm of Kiveris et al., "Connected Components in MapReduce and Beyond" (SoCC 2014). Node ids
are uint64. The edge set is hash-partitioned by node on disk: partition ``p`` holds every directed
edge ``u -> v`` with ``owner(u) == p``, and an undirected edge is stored once from each end. A round
reads each partition alone (one task, memory ~ edges / partitions) and writes its output edges into
the next round's partitions, so no process, the driver included, ever holds the whole edge set:

* **large-star** (at the smaller end of each edge): ``m = min(N(u) + {u})``; every neighbour
  ``v > u`` is linked to ``m``;
* **small-star** (at the larger end): ``m = min({v in N(u): v < u} + {u})``; ``u`` and those
  smaller neighbours are linked to ``m``.

Rounds alternate until a large-star + small-star pair leaves the edge set unchanged (compared by an
order-independent digest and count per round). Then every node is linked to exactly one node, the
smallest of its component, and :func:`component_roots` reads the answer partition by partition. The
number of rounds grows with log(component size); near-duplicate clusters converge in a few.

Edge files are ``DIR/round-RRRR/to-PPPP/from-QQQQ.npy`` (an ``[n, 2]`` uint64 array of ``u, v``),
written atomically. Round 0 (the input) is kept until the end and a rerun starts over from it;
other rounds are deleted once the next one is written.
"""

from __future__ import annotations

import glob
import os
import shutil
from dataclasses import dataclass
from typing import Dict, Iterable, List, Tuple

import numpy as np

from common.atomic_io import save_npy
from pipelines.runtime.shard_files import load_arrays
from pipelines.runtime.task_map import map_items

MAX_ROUNDS = 100

_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def owner(nodes: np.ndarray, partitions: int) -> np.ndarray:
    """The partition of each node: a 64-bit mix of the id, modulo the partition count."""
    x = nodes.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= _MIX_1
        x ^= x >> np.uint64(27)
        x *= _MIX_2
        x ^= x >> np.uint64(31)
    return (x % np.uint64(partitions)).astype(np.int64)


def round_dir(root: str, number: int) -> str:
    return os.path.join(root, f"round-{number:04d}")


def write_undirected(edges: np.ndarray, root: str, number: int, source: int, partitions: int) -> None:
    """Store undirected edges ``[n, 2]`` from both ends into round ``number``'s partitions."""
    directed = np.concatenate([edges, edges[:, ::-1]]) if len(edges) else edges.reshape(0, 2)
    targets = owner(directed[:, 0], partitions) if len(directed) else np.empty(0, dtype=np.int64)
    order = np.argsort(targets, kind="stable")
    directed, targets = directed[order], targets[order]
    bounds = np.searchsorted(targets, np.arange(partitions + 1))
    for p in range(partitions):
        piece = directed[bounds[p]:bounds[p + 1]]
        save_npy(os.path.join(round_dir(root, number), f"to-{p:04d}", f"from-{source:04d}.npy"), piece)


def _unique_edges(edges: np.ndarray) -> np.ndarray:
    if not len(edges):
        return edges.reshape(0, 2)
    order = np.lexsort((edges[:, 1], edges[:, 0]))
    edges = edges[order]
    keep = np.ones(len(edges), dtype=bool)
    keep[1:] = (edges[1:, 0] != edges[:-1, 0]) | (edges[1:, 1] != edges[:-1, 1])
    return edges[keep]


def read_partition(root: str, number: int, partition: int) -> np.ndarray:
    """The distinct directed edges ``u -> v`` owned by ``partition``, sorted by ``u`` then ``v``."""
    return _unique_edges(load_arrays(os.path.join(round_dir(root, number), f"to-{partition:04d}", "*.npy")))


def _group_minimum(edges: np.ndarray, values: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For edges sorted by source: (distinct sources, index of each edge's source, min of ``values``
    per source)."""
    starts = np.flatnonzero(np.r_[True, edges[1:, 0] != edges[:-1, 0]])
    group = np.cumsum(np.r_[False, edges[1:, 0] != edges[:-1, 0]])
    return edges[starts, 0], group, np.minimum.reduceat(values, starts)


def _digest(edges: np.ndarray) -> int:
    if not len(edges):
        return 0
    with np.errstate(over="ignore"):
        mixed = owner(edges[:, 0] * np.uint64(0x9E3779B97F4A7C15) ^ edges[:, 1], 1 << 62)
    return int(np.bitwise_xor.reduce(mixed.astype(np.uint64)))


def large_star(edges: np.ndarray) -> np.ndarray:
    if not len(edges):
        return edges
    sources, group, minimum = _group_minimum(edges, edges[:, 1])
    m = np.minimum(minimum, sources)[group]
    larger = edges[:, 1] > edges[:, 0]
    return np.stack([edges[larger, 1], m[larger]], axis=1)


def small_star(edges: np.ndarray) -> np.ndarray:
    smaller = edges[edges[:, 1] < edges[:, 0]]
    if not len(smaller):
        return smaller
    sources, group, minimum = _group_minimum(smaller, smaller[:, 1])
    m = np.minimum(minimum, sources)
    neighbours = np.stack([smaller[:, 1], m[group]], axis=1)
    centres = np.stack([sources, m], axis=1)
    out = np.concatenate([neighbours, centres])
    return out[out[:, 0] != out[:, 1]]


@dataclass
class StarItem:
    root: str
    round: int
    partition: int
    partitions: int
    step: str           # "large" or "small"


@dataclass
class StarResult:
    digest: int         # of the edges read: equal digests of two rounds mean convergence
    edges: int


def _star_task(item: StarItem) -> StarResult:
    edges = read_partition(item.root, item.round, item.partition)
    step = large_star if item.step == "large" else small_star
    write_undirected(step(edges), item.root, item.round + 1, item.partition, item.partitions)
    return StarResult(_digest(edges), int(len(edges)))


def _round_signature(results: List[StarResult]) -> Tuple[int, int]:
    digest = 0
    for r in results:
        digest ^= r.digest
    return digest, sum(r.edges for r in results)


def connected_components(root: str, partitions: int, use_ray: bool) -> Tuple[int, int]:
    """Run rounds from ``round-0000`` (written with :func:`write_undirected`) to convergence.

    Returns (the last round, whose partitions hold node -> component-minimum edges; the rounds run).
    """
    for stale in glob.glob(os.path.join(root, "round-*")):  # a rerun after a crash starts over from round 0
        if stale != round_dir(root, 0):
            shutil.rmtree(stale)
    number, previous = 0, None
    for _ in range(MAX_ROUNDS):
        # Large-star reads round `number` (E_k) and reports its digest; small-star then writes E_k+1.
        signature = _round_signature(map_items(_star_task, _items(root, number, partitions, "large"),
                                               use_ray, "large_star"))
        if signature == previous:  # E_k equals E_k-1: converged; drop the large-star output just written
            _remove_round(root, number + 1)
            return number, number // 2
        map_items(_star_task, _items(root, number + 1, partitions, "small"), use_ray, "small_star")
        _remove_round(root, number + 1)
        if number:  # round 0 stays until the end, so that a rerun can start again from it
            _remove_round(root, number)
        previous, number = signature, number + 2
    raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds")


def _items(root: str, number: int, partitions: int, step: str) -> List[StarItem]:
    return [StarItem(root, number, p, partitions, step) for p in range(partitions)]


def _remove_round(root: str, number: int) -> None:
    if number >= 0:
        shutil.rmtree(round_dir(root, number), ignore_errors=True)


def component_roots(edges: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """From one converged partition (sorted, distinct): ``(members, their roots, roots, root sizes)``.

    A member is a node whose component minimum is another node; a root is the minimum itself, with
    its component size (itself + its members).
    """
    if not len(edges):
        empty = np.empty(0, dtype=np.uint64)
        return empty, empty, empty, empty.astype(np.int64)
    sources, group, minimum = _group_minimum(edges, edges[:, 1])
    is_member = minimum < sources
    degree = np.bincount(group, minlength=len(sources))
    return sources[is_member], minimum[is_member], sources[~is_member], degree[~is_member] + 1


def components_in_memory(edges: Iterable[Tuple[int, int]]) -> Dict[int, int]:
    """Union-find in memory, for small graphs (SFT dedup) and as the tests' reference:
    ``{node: smallest node of its component}`` over the nodes that have an edge."""
    parent: Dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for u, v in edges:
        ru, rv = find(u), find(v)
        if ru != rv:
            parent[max(ru, rv)] = min(ru, rv)
    return {x: find(x) for x in list(parent)}
