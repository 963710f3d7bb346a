"""Decision-tree judges: checked before any call (one line naming the node), then routed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from heldout._errors import SpecError
from heldout.judges import Material, build_dag, judge_from_spec, judge_outputs
from heldout.spec import JudgeDagSpec, JudgeSpec
from tests.judges.helpers import ScriptedCall


def _dag(nodes: dict[str, Any], metrics: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    return build_dag(
        JudgeDagSpec.model_validate({"nodes": nodes}), where="eval.yaml:9", metrics=metrics
    )


POLITE = {
    "judge": "Is the output polite?",
    "verdicts": [{"verdict": "yes", "score": 1.0}, {"verdict": "no", "next": "tone"}],
}
TONE = {
    "judge": "What is the tone?",
    "type": "choice",
    "verdicts": [{"verdict": "warm", "score": 0.5}, {"verdict": "cold", "score": 0.0}],
}


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        (
            {"a": {"judge": "q", "verdicts": [{"verdict": "yes", "score": 1}]}},
            "eval.yaml:9.nodes.a: binary node lacks verdict 'no'; give both yes and no",
        ),
        (
            {
                "a": {
                    "judge": "q",
                    "type": "choice",
                    "verdicts": [{"verdict": "x", "score": 1}, {"verdict": "x", "score": 0}],
                }
            },
            "eval.yaml:9.nodes.a: verdict 'x' is given twice; verdicts must be unique",
        ),
        (
            {
                "a": {
                    "judge": "q",
                    "verdicts": [{"verdict": "yes", "next": "b"}, {"verdict": "no", "score": 0}],
                },
                "b": {
                    "judge": "q",
                    "verdicts": [{"verdict": "yes", "next": "a"}, {"verdict": "no", "score": 0}],
                },
            },
            "eval.yaml:9.nodes.a: the tree has a cycle (a → b → a); a decision tree must be acyclic",
        ),
        (
            {"a": POLITE, "tone": TONE, "c": TONE},
            "eval.yaml:9.nodes.a: the tree has 2 roots (a, c); only task nodes may be roots "
            "side by side. Lead one node to the other",
        ),
        (
            {
                "a": {
                    "judge": "q",
                    "verdicts": [
                        {"verdict": "yes", "next": "tonne"},
                        {"verdict": "no", "score": 0},
                    ],
                },
                "tone": TONE,
            },
            'eval.yaml:9.nodes.a: verdict \'yes\' leads to "tonne", which is not a node (did you mean "tone"?) (nodes: a, tone)',
        ),
        (
            {
                "a": {
                    "judge": "q",
                    "verdicts": [
                        {"verdict": "yes", "metric": "helpful"},
                        {"verdict": "no", "score": 0},
                    ],
                }
            },
            "eval.yaml:9.nodes.a: verdict 'yes' leads to metric \"helpful\", which is not another judge of this task (judges: none)",
        ),
        (
            {"t": {"task": "Extract"}, "a": POLITE, "tone": TONE},
            "eval.yaml:9.nodes.t: task node has no then: name the node that uses its answer",
        ),
        (
            {
                "t": {"task": "Extract", "then": "a"},
                "u": {"task": "Extract", "then": "tone"},
                "a": POLITE,
                "tone": TONE,
            },
            "eval.yaml:9.nodes.a: the root task nodes lead to 2 judgement nodes (a, tone); lead them to one",
        ),
    ],
)
def test_invalid_trees_fail_with_one_line_naming_the_node(
    nodes: dict[str, Any], message: str
) -> None:
    with pytest.raises(SpecError) as caught:
        _dag(nodes)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_binary_verdicts_written_as_bare_yaml_booleans_are_yes_and_no() -> None:
    spec = JudgeDagSpec.model_validate(
        {
            "nodes": {
                "a": {
                    "judge": "q",
                    "verdicts": [{"verdict": True, "score": 1}, {"verdict": False, "score": 0}],
                }
            }
        }
    )
    assert [e.verdict for e in spec.nodes["a"].verdicts] == ["yes", "no"]


def test_several_task_roots_are_allowed_when_they_meet_at_one_judgement() -> None:
    graph = _dag(
        {
            "numbers": {"task": "Extract the numbers", "then": "has"},
            "words": {"task": "Extract the words", "then": "has"},
            "has": {
                "judge": "Are there numbers?",
                "verdicts": [{"verdict": "yes", "score": 1}, {"verdict": "no", "score": 0}],
            },
        }
    )
    assert graph.roots == ("numbers", "words") and graph.entry == "has"


def _tree_judge(nodes: dict[str, Any]):  # type: ignore[no-untyped-def]
    spec = JudgeSpec.model_validate({"name": "tree", "model": "judge", "dag": {"nodes": nodes}})
    return judge_from_spec(spec, where="eval.yaml", metrics=["tree", "helpful"])


def test_verdicts_route_each_example_and_the_path_is_kept() -> None:
    judge = _tree_judge({"polite": POLITE, "tone": TONE})
    call = ScriptedCall()
    outputs = ["please wait", "thanks, no", "no"]
    material = Material(inputs=["q"] * 3, references=[None] * 3)
    scores = judge_outputs(judge, material, outputs, call)
    np.testing.assert_allclose(scores.scores, [1.0, 0.5, 0.0])
    assert scores.paths == ["polite=yes", "polite=no → tone=warm", "polite=no → tone=cold"]
    # round one asks all three, round two only the two routed on
    assert len(call.requests) == 5


def test_independent_task_nodes_go_out_in_one_round_and_feed_the_judgement() -> None:
    judge = _tree_judge(
        {
            "numbers": {"task": "Extract the numbers", "then": "has"},
            "words": {"task": "Extract the words", "then": "has"},
            "has": {
                "judge": "Are there numbers?",
                "verdicts": [
                    {"verdict": "yes", "metric": "helpful"},
                    {"verdict": "no", "score": 0},
                ],
            },
        }
    )
    rounds: list[int] = []
    inner = ScriptedCall()

    def call(model: str, requests):  # type: ignore[no-untyped-def]
        rounds.append(len(requests))
        return inner(model, requests)

    material = Material(inputs=["q"] * 2, references=[None] * 2)
    scores = judge_outputs(
        judge,
        material,
        ["call 555 or 12", "none here"],
        call,
        metric_scores={"helpful": np.array([0.75, 0.9])},
    )
    assert rounds == [4, 2]  # two task nodes for two examples at once, then the judgement
    np.testing.assert_allclose(scores.scores, [0.75, 0.0])
    assert scores.paths == [
        "numbers → words → has=yes → metric helpful",
        "numbers → words → has=no",
    ]
    judged = inner.requests[-2].prompt[1].content  # type: ignore[index]
    assert '<data name="numbers">\n555 12\n</data>' in judged
