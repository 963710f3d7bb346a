"""Assertions: each check against a reference implementation, and one-line spec errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from heldout import SpecError
from heldout.scoring import (
    ScoreRows,
    assertion_rows,
    compile_assertions,
    levenshtein,
    normalized_edit_distance,
)
from heldout.scoring._assertions import _levenshtein_numpy
from heldout.spec import AssertionSpec
from heldout.stats import StatsConfig, estimate_all


def _brute_levenshtein(a: str, b: str) -> int:
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
    return d[len(a)][len(b)]


def _run(
    spec: dict[str, Any], outputs: list[str], targets: list[Any] | None = None, root: Path = Path()
) -> list[bool]:
    (a,) = compile_assertions([AssertionSpec.model_validate(spec)], root=root)
    return a.check(outputs, targets or [""] * len(outputs)).tolist()


def test_levenshtein_paths_agree_with_a_brute_force_dp() -> None:
    from rapidfuzz.distance import Levenshtein

    rng = np.random.default_rng(0)
    for _ in range(300):
        a = "".join(rng.choice(list("abcé "), size=rng.integers(0, 12)))
        b = "".join(rng.choice(list("abcé "), size=rng.integers(0, 12)))
        want = _brute_levenshtein(a, b)
        assert _levenshtein_numpy(a, b) == want
        assert levenshtein(a, b) == want == Levenshtein.distance(a, b)


def test_normalized_edit_distance_divides_by_the_longer_text() -> None:
    assert normalized_edit_distance("kitten", "sitting") == pytest.approx(3 / 7)
    assert normalized_edit_distance("", "") == 0.0
    assert normalized_edit_distance("abc", "") == 1.0


def test_edit_distance_threshold_takes_the_closest_reference() -> None:
    spec = {"name": "close", "edit_distance": {"max": 0.2}}
    outputs = ["kitten", "sitting", "dog"]
    targets = [["kitten"], ["kitten", "sittin"], ["cat"]]
    assert _run(spec, outputs, targets) == [True, True, False]
    folded = {"name": "close", "edit_distance": {"max": 0.0, "case_sensitive": False}}
    assert _run(folded, ["KITTEN"], ["kitten"]) == [True]


def test_contains_any_all_and_not_contains() -> None:
    outs = ["please help", "thanks, please", "no", "PLEASE"]
    assert _run({"name": "a", "contains": ["please", "thanks"]}, outs) == [True, True, False, False]
    assert _run({"name": "a", "contains": ["please", "thanks"], "mode": "all"}, outs) == [
        False,
        True,
        False,
        False,
    ]
    assert _run({"name": "a", "contains": "please", "case_sensitive": False}, outs) == [
        True,
        True,
        False,
        True,
    ]
    assert _run({"name": "a", "not_contains": ["please", "thanks"]}, outs) == [
        False,
        False,
        True,
        True,
    ]
    # mode all: fails only when every text occurs
    assert _run({"name": "a", "not_contains": ["please", "thanks"], "mode": "all"}, outs) == [
        True,
        False,
        True,
        True,
    ]


def test_equals_regex_starts_with_and_lengths() -> None:
    assert _run({"name": "e", "equals": "yes"}, ["yes", "Yes", "yes "]) == [True, False, False]
    assert _run({"name": "e", "equals": "yes", "case_sensitive": False}, ["Yes"]) == [True]
    fmt = {"name": "d", "regex": r"^\d{4}-\d{2}-\d{2}$"}
    assert _run(fmt, ["2024-01-31", "31/01/2024", "x2024-01-31"]) == [True, False, False]
    assert _run({"name": "s", "starts_with": "Dear"}, ["Dear Sam", "dear Sam"]) == [True, False]
    short = {"name": "w", "max_words": 2, "min_chars": 3}
    assert _run(short, ["one two", "one two three", "ab"]) == [True, False, False]


def test_is_json_and_json_schema_agree_with_jsonschema(tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "score": {"type": "integer", "minimum": 0}},
        "required": ["answer"],
    }
    (tmp_path / "s.json").write_text(json.dumps(schema))
    outputs = [
        '{"answer": "ok"}',
        '{"answer": "ok", "score": -1}',
        '{"score": 3}',
        "not json",
        "[1, 2]",
        '{"answer": 5}',
    ]
    got = _run({"name": "j", "json_schema": "s.json"}, outputs, root=tmp_path)
    want = []
    for text in outputs:
        try:
            jsonschema.validate(json.loads(text), schema)
            want.append(True)
        except (ValueError, jsonschema.ValidationError):
            want.append(False)
    assert got == want == [True, False, False, False, False, False]
    assert _run({"name": "j", "is_json": True}, outputs) == [True, True, True, False, True, True]


def test_a_python_check_gets_outputs_and_targets(tmp_path: Path) -> None:
    (tmp_path / "mychecks.py").write_text(
        "def same_length(outputs, targets):\n"
        "    return [len(o) == len(t) for o, t in zip(outputs, targets)]\n"
    )
    spec = {"name": "p", "python": "mychecks:same_length"}
    assert _run(spec, ["abc", "ab"], ["xyz", "xyz"], root=tmp_path) == [True, False]


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"name": "r", "regex": "(unclosed"}, "assertions[0] (r): invalid regex"),
        ({"name": "s", "json_schema": "nope.json"}, "cannot read schema"),
        ({"name": "p", "python": "no_such_module_here:f"}, "cannot import module"),
        ({"name": "e", "embedding_similarity": {"min": 0.5, "model": "nope"}}, "not found"),
    ],
)
def test_bad_assertions_fail_as_one_line_spec_errors(
    tmp_path: Path, spec: dict[str, Any], words: str
) -> None:
    with pytest.raises(SpecError, match=None) as info:
        compile_assertions(
            [AssertionSpec.model_validate(spec)], root=tmp_path, where="eval.yaml:3:1"
        )
    message = str(info.value)
    assert words in message and message.startswith("eval.yaml:3:1")
    assert "\n" not in message


def test_an_assertion_needs_exactly_one_check() -> None:
    with pytest.raises(ValueError, match="exactly one check"):
        AssertionSpec.model_validate({"name": "x"})
    with pytest.raises(ValueError, match="min_words 5 > max_words 2"):
        AssertionSpec.model_validate({"name": "x", "min_words": 5, "max_words": 2})


def test_embedding_similarity_without_the_library_names_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    spec = {"name": "e", "embedding_similarity": {"min": 0.5, "model": "m"}}
    with pytest.raises(SpecError, match='pip install "sentence-transformers"'):
        compile_assertions([AssertionSpec.model_validate(spec)], root=tmp_path)


def _tiny_sentence_model(folder: Path) -> Path:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules as models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "dog", "sat", "ran", "on"]
    bert = folder / "bert"
    bert.mkdir(parents=True)
    (bert / "vocab.txt").write_text("\n".join(words) + "\n")
    BertTokenizerFast(vocab_file=str(bert / "vocab.txt")).save_pretrained(bert)
    config = BertConfig(
        vocab_size=len(words),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(bert)
    encoder = models.Transformer(str(bert), max_seq_length=16)
    pooling = models.Pooling(encoder.get_embedding_dimension(), pooling_mode="mean")
    out = folder / "st"
    SentenceTransformer(modules=[encoder, pooling], device="cpu").save(str(out))
    return out


@pytest.mark.slow
def test_embedding_similarity_matches_cosine_of_the_local_model(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    folder = _tiny_sentence_model(tmp_path / "models")
    outputs = ["the cat sat", "the dog ran", "on the dog"]
    targets = [["the cat sat"], ["the cat sat on"], ["the cat"]]
    model = SentenceTransformer(str(folder), device="cpu")
    a = model.encode(outputs, normalize_embeddings=True)
    b = model.encode([t[0] for t in targets], normalize_embeddings=True)
    cosine = (a * b).sum(axis=1)
    threshold = float(np.median(cosine))
    spec = {"name": "sim", "embedding_similarity": {"min": threshold, "model": "models/st"}}
    got = _run(spec, outputs, targets, root=tmp_path)
    assert got == (cosine >= threshold).tolist()
    assert got[0] is True  # identical text: cosine 1


def test_assertion_rows_are_0_1_mean_metrics_with_wilson_intervals() -> None:
    (a,) = compile_assertions([AssertionSpec(name="polite", contains=("please",))], root=Path())
    outputs = ["please"] * 7 + ["no"] * 13
    rows = ScoreRows(model="m", n=20, metrics=())
    rows = assertion_rows(rows, [a], outputs, [""] * 20)
    metric = rows.metric("polite")
    assert metric.kind == "mean" and metric.binary
    est = estimate_all(rows, config=StatsConfig())["polite"]
    assert est.value == pytest.approx(0.35)
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(7, 20, alpha=0.05, method="wilson")
    assert est.method == "wilson"
    assert (est.ci_low, est.ci_high) == pytest.approx((low, high))


def test_an_assertion_may_not_shadow_a_score_column() -> None:
    from heldout import MetricError
    from heldout.scoring import score_classification

    rows = score_classification(
        np.array([0, 1]), np.array([0, 0]), labels=("a", "b"), metrics=["accuracy"], model="m"
    )
    (a,) = compile_assertions([AssertionSpec(name="correct", equals="a")], root=Path())
    with pytest.raises(MetricError, match='assertion "correct" has the name of a score column'):
        assertion_rows(rows, [a], ["a", "b"], ["a", "b"])


def test_two_spec_folders_each_get_their_own_check_module(tmp_path: Path) -> None:
    for folder, word in (("one", "alpha"), ("two", "beta")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "samename_checks.py").write_text(
            f"def has(outputs, targets):\n    return ['{word}' in o for o in outputs]\n"
        )
    spec = {"name": "p", "python": "samename_checks:has"}
    try:
        assert _run(spec, ["alpha", "beta"], root=tmp_path / "one") == [True, False]
        assert _run(spec, ["alpha", "beta"], root=tmp_path / "two") == [False, True]
    finally:
        sys.modules.pop("samename_checks", None)


def test_several_draws_are_averaged_per_example_and_use_the_clt() -> None:
    (a,) = compile_assertions([AssertionSpec(name="polite", contains=("please",))], root=Path())
    first = ["please", "please", "no", "no"]
    second = ["please", "no", "please", "no"]
    rows = ScoreRows(model="m", n=4, metrics=())
    rows = assertion_rows(rows, [a], first, [""] * 4, more_draws=[second])
    np.testing.assert_array_equal(rows.per_example["polite"], [1.0, 0.5, 0.5, 0.0])
    metric = rows.metric("polite")
    assert not metric.binary and metric.params["samples"] == 2
    assert metric.params["bounds"] == [0.0, 1.0]
    est = estimate_all(rows, config=StatsConfig())["polite"]
    assert est.value == pytest.approx(0.5) and est.method == "clt"
