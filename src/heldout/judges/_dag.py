"""Decision-tree (DAG) judge metrics: nodes checked as a graph before any call.

A tree has task nodes (an instruction whose answer the nodes after it see as data, then
one ``then:`` node) and judgement nodes (a question with verdict edges: ``binary`` ones
have exactly the verdicts yes and no, ``choice`` ones any two or more). A verdict leads to
a score in [0, 1], to another node, or to another judge metric of the task.

The checks, each failing with one line that names the node: every node named by ``then``
or ``next`` exists; verdicts are unique within a node; a binary node has both verdicts; the
graph is acyclic; there is one root, unless every root is a task node (independent tasks
run concurrently and meet at one judgement node); task nodes lead somewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from heldout._errors import SpecError
from heldout._util._suggest import did_you_mean
from heldout.spec import JudgeDagSpec, JudgeNodeSpec

__all__ = ["DagGraph", "build_dag"]


@dataclass(frozen=True)
class DagGraph:
    """A checked decision tree.

    Attributes:
        nodes: the nodes by name, as written.
        roots: nodes nothing leads to; they run first (concurrently when several).
        entry: the judgement node the roots' task chains lead to (or the root itself).
        parents: per task-entered node, the task nodes whose ``then`` is that node.
    """

    nodes: Mapping[str, JudgeNodeSpec]
    roots: tuple[str, ...]
    entry: str
    parents: Mapping[str, tuple[str, ...]]

    def is_task(self, name: str) -> bool:
        return self.nodes[name].task is not None


def build_dag(spec: JudgeDagSpec, *, where: str, metrics: Sequence[str] = ()) -> DagGraph:
    """Check a decision tree and return it as a graph.

    Args:
        spec: the ``dag:`` block.
        where: the block's place in eval.yaml, for messages.
        metrics: the other judge metrics of the task, which a verdict may lead to.

    Raises:
        SpecError: one line naming the node and what to change.
    """
    nodes = dict(spec.nodes)
    names = list(nodes)
    edges: dict[str, list[str]] = {n: [] for n in names}
    for name, node in nodes.items():
        here = f"{where}.nodes.{name}"
        if node.task is not None:
            if node.then is None:
                raise SpecError(
                    f"{here}: task node has no then: name the node that uses its answer"
                )
            if node.then not in nodes:
                raise SpecError(
                    f'{here}: then: "{node.then}" is not a node{did_you_mean(node.then, names)} '
                    f"(nodes: {', '.join(names)})"
                )
            edges[name].append(node.then)
            continue
        verdicts = [e.verdict for e in node.verdicts]
        repeated = sorted({v for v in verdicts if verdicts.count(v) > 1})
        if repeated:
            raise SpecError(
                f"{here}: verdict {repeated[0]!r} is given twice; verdicts must be unique"
            )
        if node.type == "binary":
            lower = {v.lower() for v in verdicts}
            missing = [v for v in ("yes", "no") if v not in lower]
            extra = sorted(lower - {"yes", "no"})
            if missing:
                raise SpecError(
                    f"{here}: binary node lacks verdict {missing[0]!r}; give both yes and no"
                )
            if extra:
                raise SpecError(
                    f"{here}: binary node has verdict {extra[0]!r}; use yes and no, or type: choice"
                )
        elif len(verdicts) < 2:
            raise SpecError(f"{here}: a choice node needs at least two verdicts")
        for edge in node.verdicts:
            if edge.next is not None:
                if edge.next not in nodes:
                    raise SpecError(
                        f'{here}: verdict {edge.verdict!r} leads to "{edge.next}", which is not '
                        f"a node{did_you_mean(edge.next, names)} (nodes: {', '.join(names)})"
                    )
                edges[name].append(edge.next)
            if edge.metric is not None and edge.metric not in metrics:
                known = ", ".join(metrics) or "none"
                raise SpecError(
                    f'{here}: verdict {edge.verdict!r} leads to metric "{edge.metric}", which is '
                    f"not another judge of this task{did_you_mean(edge.metric, list(metrics))} (judges: {known})"
                )
    cycle = _cycle(edges)
    if cycle is not None:
        raise SpecError(
            f"{where}.nodes.{cycle[0]}: the tree has a cycle ({' → '.join(cycle)}); "
            "a decision tree must be acyclic"
        )
    targets = {t for out in edges.values() for t in out}
    roots = tuple(n for n in names if n not in targets)
    judged_roots = [r for r in roots if not nodes[r].task]
    if len(roots) > 1 and judged_roots:
        raise SpecError(
            f"{where}.nodes.{judged_roots[0]}: the tree has {len(roots)} roots "
            f"({', '.join(roots)}); only task nodes may be roots side by side. "
            "Lead one node to the other"
        )
    parents: dict[str, list[str]] = {}
    for name, node in nodes.items():
        if node.then is not None:
            parents.setdefault(node.then, []).append(name)
    entries = sorted(
        {_entry(nodes, r) for r in roots},
    )
    if len(entries) != 1:
        raise SpecError(
            f"{where}.nodes.{entries[0]}: the root task nodes lead to {len(entries)} judgement "
            f"nodes ({', '.join(entries)}); lead them to one"
        )
    return DagGraph(
        nodes=nodes,
        roots=roots,
        entry=entries[0],
        parents={k: tuple(v) for k, v in parents.items()},
    )


def _entry(nodes: Mapping[str, JudgeNodeSpec], name: str) -> str:
    while nodes[name].task is not None:
        then = nodes[name].then
        assert then is not None
        name = then
    return name


def _cycle(edges: Mapping[str, list[str]]) -> list[str] | None:
    """A cycle as a list of nodes (first repeated at the end), or ``None``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in edges[node]:
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found is not None:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in edges:
        if node not in state:
            found = visit(node)
            if found is not None:
                return found
    return None
