"""What each top-level dependency costs: itself plus everything that only it pulls in.

"Only it pulls in" is domination: package P is charged to top-level dependency D when every path from
the project to P passes through D. The immediate-dominator tree is computed with the iterative
algorithm of Cooper, Harvey and Kennedy ("A Simple, Fast Dominance Algorithm", 2001), which is
near-linear on dependency graphs. Packages reachable through two top-level dependencies are shared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

START = -1


def immediate_dominators(roots: list[int], edges: Mapping[int, Iterable[int]]) -> dict[int, int]:
    """idom of every node reachable from a virtual start that points at `roots` (start maps to itself).
    Node ids must not be START. The dominator tree is unique, so children are visited in any order."""
    succ: dict[int, Iterable[int]] = dict(edges)
    succ[START] = list(roots)
    order: list[int] = []  # postorder
    seen = {START}
    stack = [(START, iter(succ[START]))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if child not in seen:
                seen.add(child)
                stack.append((child, iter(succ.get(child, ()))))
                break
        else:
            order.append(node)
            stack.pop()
    post = {node: i for i, node in enumerate(order)}
    preds: dict[int, list[int]] = {node: [] for node in order}
    for node in order:
        for child in succ.get(node, ()):
            if child in post:
                preds[child].append(node)
    idom = {START: START}
    rpo = [n for n in reversed(order) if n != START]
    changed = True
    while changed:
        changed = False
        for node in rpo:
            candidates = [p for p in preds[node] if p in idom]
            new = candidates[0]
            for p in candidates[1:]:
                new = _intersect(p, new, idom, post)
            if idom.get(node) != new:
                idom[node] = new
                changed = True
    return idom


def _intersect(a: int, b: int, idom: dict[int, int], post: dict[int, int]) -> int:
    while a != b:
        while post[a] < post[b]:
            a = idom[a]
        while post[b] < post[a]:
            b = idom[b]
    return a


def exclusive_members(roots: list[int], edges: Mapping[int, Iterable[int]]) -> dict[int, list[int]]:
    """For each direct dependency of the roots: the nodes it dominates, itself included."""
    idom = immediate_dominators(roots, edges)
    root_set = set(roots)
    top_level = {child for r in roots for child in edges.get(r, ()) if child not in root_set}
    owner: dict[int, int | None] = {}

    def find(node: int) -> int | None:
        path = []
        while node not in owner:
            if node in top_level:
                owner[node] = node
                break
            parent = idom.get(node, START)
            if parent in (START, node) or parent in root_set:
                owner[node] = None
                break
            path.append(node)
            node = parent
        result = owner[node]
        for n in path:
            owner[n] = result
        return result

    members: dict[int, list[int]] = {d: [] for d in top_level}
    for node in idom:
        if node == START or node in root_set:
            continue
        top = find(node)
        if top is not None:
            members[top].append(node)
    return members
