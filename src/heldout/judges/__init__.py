"""LLM judges: scores that string metrics cannot give, with intervals like every metric.

A judge is any model (a ``judge_models:`` or ``models:`` entry) asked to score outputs:

- **G-Eval** (``criteria:``): one call writes 3 to 5 evaluation steps, frozen and stored
  with the run; each output is scored on an integer scale, probability-weighted over the
  score tokens when the backend returns top log-probabilities, normalised to [0, 1].
- **Presets** (``preset:``): relevance, coherence, conciseness, correctness,
  faithfulness, instruction_following, harmfulness.
- **Reference grading** (``choices:``): a labelled choice with its score, reasoned first.
- **Pairwise** (``pairwise: true``): candidate against baseline in both orders.
- **Decision trees** (``dag:``): task and judgement nodes, checked before any call.

Material is shown to the judge as delimited data, never as instructions; a malformed
answer gets one repair prompt and then an explicit, counted judge error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from heldout._util._lazy import lazy_names

if TYPE_CHECKING:
    from heldout.judges._agreement import LOW_KAPPA, validate_against_humans, vote_agreement
    from heldout.judges._dag import DagGraph, build_dag
    from heldout.judges._engine import (
        Call,
        Judge,
        JudgeKind,
        JudgeScores,
        Material,
        PairwiseScores,
        freeze_steps,
        judge_from_spec,
        judge_outputs,
        judge_pairwise,
    )
    from heldout.judges._parse import (
        Malformed,
        ScoreReading,
        extract_json,
        read_label,
        read_score,
        weighted_score,
    )
    from heldout.judges._presets import PRESETS, Preset
    from heldout.judges._prompt import GUARD, data_blocks
    from heldout.judges._types import (
        JudgeInfo,
        JudgeReport,
        JudgeUsage,
        PairwiseInfo,
        ValidationInfo,
    )

__all__ = [
    "GUARD",
    "LOW_KAPPA",
    "PRESETS",
    "Call",
    "DagGraph",
    "Judge",
    "JudgeInfo",
    "JudgeKind",
    "JudgeReport",
    "JudgeScores",
    "JudgeUsage",
    "Malformed",
    "Material",
    "PairwiseInfo",
    "PairwiseScores",
    "Preset",
    "ScoreReading",
    "ValidationInfo",
    "build_dag",
    "data_blocks",
    "extract_json",
    "freeze_steps",
    "judge_from_spec",
    "judge_outputs",
    "judge_pairwise",
    "read_label",
    "read_score",
    "validate_against_humans",
    "vote_agreement",
    "weighted_score",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
