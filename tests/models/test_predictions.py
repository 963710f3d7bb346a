from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from heldout import DataError
from heldout.data import load_dataset
from heldout.models import load_predictions
from heldout.spec import PredictionsModelSpec

LABELS = ("neg", "pos")


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def dataset(tmp_path: Path):  # type: ignore[no-untyped-def]
    rows = [{"id": f"e{i}", "text": f"t{i}", "label": LABELS[i % 2]} for i in range(6)]
    return load_dataset(
        _jsonl(tmp_path / "d.jsonl", rows),
        id="id",
        input="text",
        target="label",
        target_kind="label",
    )


def _spec(path: Path, **kw: object) -> PredictionsModelSpec:
    return PredictionsModelSpec(backend="predictions", path=str(path), **kw)  # type: ignore[arg-type]


def _load(tmp_path: Path, dataset, rows, **kw):  # type: ignore[no-untyped-def]
    path = _jsonl(tmp_path / "p.jsonl", rows)
    return load_predictions(
        _spec(path, **kw), model="m", path=path, dataset=dataset, kind="label", labels=LABELS
    )


def test_aligns_by_id_whatever_the_file_order(tmp_path: Path, dataset) -> None:  # type: ignore[no-untyped-def]
    rows = [
        {"id": f"e{i}", "prediction": "pos", "probabilities": {"neg": 0.25, "pos": 0.75}}
        for i in reversed(range(6))
    ]
    rows[0]["prediction"] = "neg"  # e5
    rows[0]["probabilities"] = {"neg": 0.9, "pos": 0.1}
    p = _load(tmp_path, dataset, rows)
    assert list(p.values) == ["pos"] * 5 + ["neg"]
    np.testing.assert_allclose(p.proba[5], [0.9, 0.1])  # type: ignore[index]
    assert p.present.all() and p.valid.all()


def test_probability_list_and_single_column_forms(tmp_path: Path, dataset) -> None:  # type: ignore[no-untyped-def]
    rows = [{"id": f"e{i}", "prediction": "pos", "p": [0.4, 0.6], "p_pos": 0.6} for i in range(6)]
    listed = _load(tmp_path, dataset, rows, probabilities="p")
    single = _load(tmp_path, dataset, rows, probabilities={"pos": "p_pos"})
    np.testing.assert_allclose(listed.proba, single.proba)  # type: ignore[arg-type]
    np.testing.assert_allclose(single.proba[:, 0], 0.4)  # type: ignore[index]


def test_missing_ids_error_or_drop_or_wrong(tmp_path: Path, dataset) -> None:  # type: ignore[no-untyped-def]
    rows = [{"id": f"e{i}", "prediction": "pos"} for i in range(4)]
    with pytest.raises(
        DataError, match=r"2 of 6 dataset examples have no prediction \(e4, e5\).*missing: drop"
    ):
        _load(tmp_path, dataset, rows)
    dropped = _load(tmp_path, dataset, rows, missing="drop")
    assert list(dropped.present) == [True] * 4 + [False] * 2
    wrong = _load(tmp_path, dataset, rows, missing="wrong")
    assert list(wrong.valid) == [True] * 4 + [False] * 2


def test_extra_ids_error_names_the_line(tmp_path: Path, dataset) -> None:  # type: ignore[no-untyped-def]
    rows = [{"id": f"e{i}", "prediction": "pos"} for i in range(7)]
    with pytest.raises(DataError, match=r'p.jsonl:7: id "e6" is not in the dataset'):
        _load(tmp_path, dataset, rows)
    assert _load(tmp_path, dataset, rows, extra="ignore").present.all()


def test_unknown_label_is_an_error_unless_scored_wrong(tmp_path: Path, dataset) -> None:  # type: ignore[no-untyped-def]
    rows = [{"id": f"e{i}", "prediction": "pos"} for i in range(6)]
    rows[3]["prediction"] = "Pos"
    with pytest.raises(
        DataError, match=r'p.jsonl:4: prediction "Pos" is not a label \(did you mean "pos"\?\)'
    ):
        _load(tmp_path, dataset, rows)
    p = _load(tmp_path, dataset, rows, invalid="wrong")
    assert list(p.valid) == [True, True, True, False, True, True]


def test_probabilities_must_sum_to_one(tmp_path: Path, dataset) -> None:  # type: ignore[no-untyped-def]
    rows = [
        {"id": f"e{i}", "prediction": "pos", "probabilities": {"neg": 0.4, "pos": 0.6}}
        for i in range(6)
    ]
    rows[2]["probabilities"] = {"neg": 0.4, "pos": 0.4}
    with pytest.raises(DataError, match=r"p.jsonl:3: probabilities sum to 0.8000, not 1"):
        _load(tmp_path, dataset, rows)


def test_probability_map_must_cover_every_label(tmp_path: Path, dataset) -> None:  # type: ignore[no-untyped-def]
    rows = [
        {"id": f"e{i}", "prediction": "pos", "probabilities": {"neg": 0.4, "pos": 0.6}}
        for i in range(6)
    ]
    rows[1]["probabilities"] = {"pos": 1.0}
    with pytest.raises(
        DataError, match=r'p.jsonl:2: "probabilities" has no number for label "neg"'
    ):
        _load(tmp_path, dataset, rows)
