"""The Python API on real files: numbers equal the reference libraries, runs read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score
from statsmodels.stats.contingency_tables import mcnemar

import heldout
from tests.conftest import Project


def _frame(path: Path) -> pd.DataFrame:
    return pd.read_json(path, lines=True)


def test_metrics_match_sklearn_and_run_reads_back(project: Project) -> None:
    run = heldout.evaluate(project.spec, store=project.store_url())
    data, tuned = _frame(project.data), _frame(project.tuned)
    assert run.metrics["tuned"]["accuracy"].value == pytest.approx(
        accuracy_score(data["label"], tuned["prediction"]), abs=1e-12
    )
    assert run.metrics["tuned"]["macro_f1"].value == pytest.approx(
        f1_score(data["label"], tuned["prediction"], average="macro"), abs=1e-9
    )
    # clustered intervals and tests: the spec names a cluster column
    assert run.metrics["tuned"]["accuracy"].method == "clt-clustered"
    assert run.comparisons["accuracy"].test == "paired-z-clustered"
    again = heldout.load_run(run.id[:6], store=project.store_url())
    assert again.to_dict() == run.to_dict()
    pd.testing.assert_frame_equal(again.examples(), run.examples())


def test_unclustered_comparison_is_mcnemar_with_wilson_intervals(project: Project) -> None:
    project.spec.write_text(
        project.spec.read_text(encoding="utf-8").replace("  cluster: customer\n", ""),
        encoding="utf-8",
    )
    run = heldout.evaluate(project.spec, save=False)
    data, tuned, base = _frame(project.data), _frame(project.tuned), _frame(project.base)
    a = (tuned["prediction"] == data["label"]).to_numpy()
    b = (base["prediction"] == data["label"]).to_numpy()
    table = [[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]]
    expected = mcnemar(table, exact=(table[0][1] + table[1][0]) < 25).pvalue
    assert run.comparisons["accuracy"].p_value == pytest.approx(expected, rel=1e-9)
    assert run.comparisons["accuracy"].test.startswith("mcnemar")
    assert run.metrics["tuned"]["accuracy"].method == "wilson"
    ex = run.examples()
    assert {"id", "input", "target", "lang", "pred:base", "pred:tuned", "correct:tuned"} <= set(
        ex.columns
    )
    assert len(ex) == 120
    np.testing.assert_array_equal(ex["correct:tuned"].to_numpy(dtype=bool), a)


def test_missing_drop_evaluates_the_shared_examples(project: Project) -> None:
    lines = project.base.read_text(encoding="utf-8").splitlines(keepends=True)
    project.base.write_text("".join(lines[:-10]), encoding="utf-8")
    spec = project.spec.read_text(encoding="utf-8").replace(
        "path: base.jsonl}", "path: base.jsonl, missing: drop}"
    )
    project.spec.write_text(spec, encoding="utf-8")
    run = heldout.evaluate(project.spec, save=False)
    task = run.tasks[0]
    assert task.dropped == {"base": 10}
    assert run.metrics["tuned"]["accuracy"].n == 110


def test_regression_task(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(10, 3, 200)
    rows = [{"id": i, "y": float(v)} for i, v in enumerate(y)]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    preds = {"a": y + rng.normal(0, 1.0, 200), "b": y + rng.normal(0, 2.0, 200)}
    for name, p in preds.items():
        (tmp_path / f"{name}.csv").write_text(
            "id,prediction\n" + "".join(f"{i},{v}\n" for i, v in enumerate(p))
        )
    spec = {
        "name": "reg",
        "models": {
            "b": {"backend": "predictions", "path": "b.csv"},
            "a": {"backend": "predictions", "path": "a.csv"},
        },
        "dataset": {"path": "d.jsonl", "id": "id", "target": "y"},
        "task": {"type": "regression"},
    }
    from heldout.spec import spec_from_mapping

    run = heldout.evaluate(spec_from_mapping(spec, root=tmp_path), save=False)
    assert run.metrics["a"]["mae"].value == pytest.approx(
        mean_absolute_error(y, preds["a"]), abs=1e-9
    )
    assert run.metrics["a"]["r2"].value == pytest.approx(r2_score(y, preds["a"]), abs=1e-9)
    # two models and no compare: the second listed is judged against the first
    assert run.tasks[0].candidate == "a" and run.tasks[0].baseline == "b"
    assert run.comparisons["mae"].verdict == "better"
    assert run.comparisons["mae"].delta < 0


def test_pr_auc_difference_is_the_difference_of_sklearn_values(project: Project) -> None:
    from sklearn.metrics import average_precision_score
    from sklearn.preprocessing import label_binarize

    spec = project.spec.read_text(encoding="utf-8").replace(
        "roc_auc, log_loss]", "roc_auc, pr_auc, log_loss]"
    )
    project.spec.write_text(spec, encoding="utf-8")
    run = heldout.evaluate(project.spec, save=False)
    data = _frame(project.data)
    labels = ["billing", "bug", "other"]
    y = label_binarize(data["label"], classes=labels)

    def ap(path: Path) -> float:
        proba = np.array([[p[label] for label in labels] for p in _frame(path)["probabilities"]])
        return float(average_precision_score(y, proba, average="macro"))

    expected = ap(project.tuned) - ap(project.base)
    assert abs(expected) > 0.01
    assert run.comparisons["pr_auc"].delta == pytest.approx(expected, abs=1e-9)


def test_binned_pr_auc_keeps_the_exact_point_and_centres_its_interval() -> None:
    from sklearn.metrics import average_precision_score

    from heldout.scoring import score_classification
    from heldout.stats import StatsConfig, compare_all, estimate_all

    rng = np.random.default_rng(5)
    n = 6000
    y = (rng.random(n) < 0.4).astype(np.int64)
    scores = {
        name: 1 / (1 + np.exp(-(skill * (2 * y - 1) + rng.normal(size=n))))
        for name, skill in (("a", 1.0), ("b", 0.6))
    }
    rows = {
        name: score_classification(
            y,
            (s >= 0.5).astype(np.int64),
            labels=("neg", "pos"),
            metrics=["pr_auc"],
            model=name,
            proba=np.column_stack([1 - s, s]),
        )
        for name, s in scores.items()
    }
    assert rows["a"].metric("pr_auc").params["resampling_cells"] == "quantile_bins"
    config = StatsConfig(n_resamples=300)
    est = estimate_all(rows["a"], config=config)["pr_auc"]
    exact = {name: average_precision_score(y, s) for name, s in scores.items()}
    assert est.value == pytest.approx(exact["a"], abs=1e-12)
    assert est.ci_low < est.value < est.ci_high
    diff = compare_all(rows["a"], rows["b"], config=config)["pr_auc"]
    assert diff.delta == pytest.approx(exact["a"] - exact["b"], abs=1e-12)
    assert diff.ci_low < diff.delta < diff.ci_high


def test_missing_wrong_scores_absent_examples_and_drops_nothing(project: Project) -> None:
    lines = project.base.read_text(encoding="utf-8").splitlines(keepends=True)
    project.base.write_text("".join(lines[:-10]), encoding="utf-8")
    spec = project.spec.read_text(encoding="utf-8").replace(
        "path: base.jsonl}", "path: base.jsonl, missing: wrong}"
    )
    project.spec.write_text(spec, encoding="utf-8")
    run = heldout.evaluate(project.spec, save=False)
    assert run.tasks[0].dropped == {}
    assert run.metrics["base"]["accuracy"].n == 120
    ex = run.examples()
    assert not ex["correct:base"].to_numpy(dtype=bool)[-10:].any()


def test_parquet_probability_maps_are_read(tmp_path: Path, project: Project) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _frame(project.tuned)
    labels = ["billing", "bug", "other"]
    maps = pa.array(
        [list(p.items()) for p in rows["probabilities"]], type=pa.map_(pa.string(), pa.float64())
    )
    pq.write_table(
        pa.table(
            {
                "id": rows["id"].tolist(),
                "prediction": rows["prediction"].tolist(),
                "probabilities": maps,
            }
        ),
        project.root / "tuned.parquet",
    )
    spec = project.spec.read_text(encoding="utf-8").replace("tuned.jsonl", "tuned.parquet")
    project.spec.write_text(spec, encoding="utf-8")
    run = heldout.evaluate(project.spec, save=False)
    from sklearn.metrics import log_loss

    proba = np.array([[p[label] for label in labels] for p in rows["probabilities"]])
    assert run.metrics["tuned"]["log_loss"].value == pytest.approx(
        log_loss(_frame(project.data)["label"], proba, labels=labels), abs=1e-9
    )


def test_bca_intervals_on_request(project: Project) -> None:
    spec = project.spec.read_text(encoding="utf-8").replace(
        "stats: {resamples: 200, seed: 1}", "stats: {resamples: 300, seed: 1, ci_method: bca}"
    )
    project.spec.write_text(spec, encoding="utf-8")
    run = heldout.evaluate(project.spec, save=False)
    est = run.metrics["tuned"]["macro_f1"]
    assert est.method == "bootstrap-bca-clustered"
    assert est.ci_low < est.value < est.ci_high
    assert run.stats["ci_method"] == "bca"


def test_evaluate_accepts_a_spec_object_and_a_mapping(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from heldout.spec import load_spec

    monkeypatch.chdir(project.root)
    model = load_spec(project.spec).spec
    from_object = heldout.evaluate(model, save=False)
    from_mapping = heldout.evaluate(model.model_dump(mode="json", exclude_none=True), save=False)
    from_path = heldout.evaluate(project.spec, save=False)
    for run in (from_object, from_mapping):
        assert run.spec_hash == from_path.spec_hash
        assert run.metrics["tuned"]["macro_f1"] == from_path.metrics["tuned"]["macro_f1"]


def test_mask_pii_masks_inputs_before_models_and_the_store(project: Project) -> None:
    lines = project.data.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[0])
    row["text"] = "refund to ana.perez@example.com please, card 4111 1111 1111 1111"
    lines[0] = json.dumps(row)
    project.data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (project.root / "echo.py").write_text(
        "SEEN = []\ndef predict(inputs):\n    SEEN.extend(inputs)\n    return ['billing' for _ in inputs]\n"
    )
    spec = project.spec.read_text(encoding="utf-8")
    spec = spec.replace(
        "  base: {backend: predictions, path: base.jsonl}",
        "  base: {backend: python, function: 'echo:predict'}",
    )
    spec = spec.replace(
        "metrics: [accuracy, macro_f1, roc_auc, log_loss]",
        "metrics: [accuracy, macro_f1]\nprivacy: {mask_pii: true}",
    )
    project.spec.write_text(spec, encoding="utf-8")
    import sys

    sys.modules.pop("echo", None)
    run = heldout.evaluate(project.spec, store=project.store_url())
    import echo  # type: ignore[import-not-found]

    assert echo.SEEN[0] == "refund to <EMAIL_1> please, card <CARD_1>"
    stored = heldout.load_run(run.id, store=project.store_url()).examples()
    assert stored.loc[0, "input"] == "refund to <EMAIL_1> please, card <CARD_1>"
    assert "example.com" not in " ".join(map(str, stored["input"]))
