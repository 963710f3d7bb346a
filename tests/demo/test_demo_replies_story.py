"""The replies story: BLEU ties, while chrF, token F1 and ROUGE-L say the fine-tune is better."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import sacrebleu
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from scipy.stats import ttest_rel

from heldout.demo import _bleu

from ._story import drafts, paired_bootstrap, references, token_f1
from .conftest import Demo


def test_corpus_bleu_ties(demo: Demo) -> None:
    refs = references(demo)
    base, tuned = drafts(demo, "base"), drafts(demo, "tuned")
    scores = {
        m: sacrebleu.corpus_bleu(d, refs).score for m, d in (("base", base), ("tuned", tuned))
    }
    assert 35 <= scores["base"] <= 70  # plausible drafting BLEU, not a copy of the references
    result = paired_bootstrap(BLEU(), base, tuned, refs, resamples=500, seed=0)
    assert result.delta == pytest.approx(scores["tuned"] - scores["base"])
    assert abs(result.delta) < 0.5
    assert result.p_value > 0.3
    assert result.ci_low < -1.0 and result.ci_high > 1.0  # the interval clearly contains 0


def test_chrf_is_significantly_better(demo: Demo) -> None:
    refs = references(demo)
    result = paired_bootstrap(
        CHRF(), drafts(demo, "base"), drafts(demo, "tuned"), refs, resamples=500, seed=0
    )
    assert result.delta >= 5.0 and result.ci_low > 2.0
    assert result.p_value < 0.01


def test_token_f1_and_rouge_l_are_significantly_better(demo: Demo) -> None:
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    f1: dict[str, np.ndarray] = {}
    rouge: dict[str, np.ndarray] = {}
    for model in ("base", "tuned"):
        pairs = list(zip(drafts(demo, model), (r["references"] for r in demo.replies), strict=True))
        f1[model] = np.array([token_f1(d, refs) for d, refs in pairs])
        rouge[model] = np.array(
            [scorer.score_multi(refs, d)["rougeL"].fmeasure for d, refs in pairs]
        )
    for scores in (f1, rouge):
        assert scores["tuned"].mean() - scores["base"].mean() >= 0.05
        assert ttest_rel(scores["tuned"], scores["base"]).pvalue < 0.01


@pytest.mark.parametrize("seed", [1, 2])
def test_bleu_tie_and_chrf_win_hold_for_other_seeds(
    seed: int, demo_at: Callable[[int], Demo]
) -> None:
    other = demo_at(seed)
    refs = references(other)
    base, tuned = drafts(other, "base"), drafts(other, "tuned")
    assert (
        abs(sacrebleu.corpus_bleu(tuned, refs).score - sacrebleu.corpus_bleu(base, refs).score)
        < 0.5
    )
    assert sacrebleu.corpus_chrf(tuned, refs).score - sacrebleu.corpus_chrf(base, refs).score >= 5.0


def test_calibration_replica_matches_sacrebleu(demo: Demo) -> None:
    refs = _bleu.References([r["references"] for r in demo.replies])
    streams = references(demo)
    for model in ("base", "tuned"):
        hyps = drafts(demo, model)
        totals = [sum(column) for column in zip(*refs.rows(hyps), strict=True)]
        assert _bleu.corpus_score(totals) == pytest.approx(
            sacrebleu.corpus_bleu(hyps, streams).score, abs=1e-9
        )
    tokenize = Tokenizer13a()
    texts = [t["text"] for t in demo.tickets] + [
        r for row in demo.replies for r in row["references"]
    ]
    texts += drafts(demo, "base") + drafts(demo, "tuned")
    texts += ["a.,b c,.d 3.4-5 x-\ny &amp; <skipped> 1,000.5,x **bold**! . , 4. 5,6 -7- ,."]
    by_word = _bleu._WordTokens()
    for text in texts:
        assert _bleu._tokens(text) == tokenize(text).split() == by_word(text), text
