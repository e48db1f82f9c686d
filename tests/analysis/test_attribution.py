"""Per-dependency cost: a package is charged to a direct dependency only if every path passes through it."""

from __future__ import annotations

from depaudit.analysis.attribution import exclusive_members, immediate_dominators


def test_diamond_is_shared_and_chain_is_exclusive():
    # root 0 -> a 1, b 2; a -> c 3; b -> c 3; a -> d 4 -> e 5
    members = exclusive_members([0], {0: {1, 2}, 1: {3, 4}, 2: {3}, 4: {5}})
    assert sorted(members[1]) == [1, 4, 5]
    assert members[2] == [2]
    assert all(3 not in m for m in members.values())


def test_direct_dependency_also_reached_through_another_keeps_its_own_subtree():
    # numpy 2 is direct and also under torch 1: it is still a top-level entry owning only itself
    members = exclusive_members([0], {0: {1, 2}, 1: {2, 3}})
    assert sorted(members[1]) == [1, 3]
    assert members[2] == [2]


def test_cycles_and_multiple_roots():
    edges = {0: {2}, 1: {3}, 2: {4}, 3: {4}, 4: {5}, 5: {4}}
    idom = immediate_dominators([0, 1], edges)
    assert idom[2] == 0 and idom[3] == 1 and idom[4] == -1 and idom[5] == 4
    members = exclusive_members([0, 1], edges)
    assert members == {2: [2], 3: [3]}


def test_deep_chain_needs_no_recursion():
    n = 20000  # far past Python's recursion limit: the DFS and the idom walk are iterative
    edges = {i: {i + 1} for i in range(n)}
    members = exclusive_members([0], edges)
    assert sorted(members[1]) == list(range(1, n + 1))
