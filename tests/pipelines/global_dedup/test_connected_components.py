"""Partitioned large-star / small-star connected components against an in-memory union-find."""

import random
from collections import Counter

import numpy as np
import pytest

from pipelines.global_dedup.connected_components import (
    component_roots,
    components_in_memory,
    connected_components,
    read_partition,
    write_undirected,
)


def random_graph(rng):
    n = rng.choice([10, 200, 2000])
    edges = [(rng.randrange(n) * 7 + 3, rng.randrange(n) * 7 + 3) for _ in range(rng.randint(1, 2 * n))]
    edges += [(10**6 + i, 10**6 + i + 1) for i in range(rng.randint(0, 200))]  # a long chain
    edges += [(2**63 + 5, 2**63 + 9)]  # ids above 2^63 (uint64)
    return [(u, v) for u, v in edges if u != v]


@pytest.mark.parametrize("trial", range(8))
def test_components_and_sizes_equal_union_find(tmp_path, trial):
    rng = random.Random(trial)
    edges = random_graph(rng)
    partitions = rng.choice([1, 2, 3, 7])
    write_undirected(np.array(edges, dtype=np.uint64), str(tmp_path), 0, 0, partitions)
    last, rounds = connected_components(str(tmp_path), partitions, use_ray=False)
    expected = components_in_memory(edges)
    expected_sizes = Counter(expected.values())
    found, sizes = {}, {}
    for p in range(partitions):
        members, roots_of_members, roots, root_sizes = component_roots(read_partition(str(tmp_path), last, p))
        found.update(zip(members.tolist(), roots_of_members.tolist()))
        found.update((r, r) for r in roots.tolist())
        sizes.update(zip(roots.tolist(), root_sizes.tolist()))
    assert found == expected
    assert sizes == dict(expected_sizes)
    assert 1 <= rounds < 30
    # Only the input and the answer are left on disk.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"round-0000", f"round-{last:04d}"})


def test_empty_graph(tmp_path):
    write_undirected(np.empty((0, 2), dtype=np.uint64), str(tmp_path), 0, 0, 3)
    last, _ = connected_components(str(tmp_path), 3, use_ray=False)
    assert all(len(read_partition(str(tmp_path), last, p)) == 0 for p in range(3))
