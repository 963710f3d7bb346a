"""Shared fixtures: a small, valid eval project written to a temporary folder."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

LABELS = ("billing", "bug", "other")


@dataclass
class Project:
    root: Path
    spec: Path
    data: Path
    base: Path
    tuned: Path

    def store_url(self) -> str:
        return f"sqlite:///{self.root / 'store.db'}"


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _probs(pred: str, rng: random.Random) -> dict[str, float]:
    top = round(rng.uniform(0.5, 0.95), 4)
    rest = [lbl for lbl in LABELS if lbl != pred]
    first = round((1 - top) * rng.uniform(0.2, 0.8), 4)
    return {pred: top, rest[0]: first, rest[1]: round(1 - top - first, 4)}


def build_project(root: Path, n: int = 120, seed: int = 3) -> Project:
    """A three-class routing eval with two models; the tuned one is right more often."""
    rng = random.Random(seed)
    rows, base, tuned = [], [], []
    for i in range(n):
        label = LABELS[i % 3]
        rows.append(
            {
                "ticket_id": f"T{i:04d}",
                "text": f"ticket number {i} about {label}",
                "label": label,
                "lang": "en" if i % 4 else "de",
                "customer": f"C{i // 2}",
            }
        )
        for preds, p_right in ((base, 0.6), (tuned, 0.85)):
            pred = (
                label if rng.random() < p_right else rng.choice([x for x in LABELS if x != label])
            )
            preds.append(
                {"id": f"T{i:04d}", "prediction": pred, "probabilities": _probs(pred, rng)}
            )
    (root / "data").mkdir(parents=True, exist_ok=True)
    data = root / "data" / "tickets.jsonl"
    _write_jsonl(data, rows)
    base_path, tuned_path = root / "base.jsonl", root / "tuned.jsonl"
    _write_jsonl(base_path, base)
    _write_jsonl(tuned_path, tuned)
    spec = root / "eval.yaml"
    spec.write_text(
        "name: mini-router\n"
        "models:\n"
        "  base: {backend: predictions, path: base.jsonl}\n"
        "  tuned: {backend: predictions, path: tuned.jsonl}\n"
        "compare: {candidate: tuned, baseline: base}\n"
        "stats: {resamples: 200, seed: 1}\n"
        "dataset:\n"
        "  path: data/tickets.jsonl\n"
        "  id: ticket_id\n"
        "  input: text\n"
        "  target: label\n"
        "  slices: [lang]\n"
        "  cluster: customer\n"
        "task:\n"
        "  type: classification\n"
        f"  labels: [{', '.join(LABELS)}]\n"
        "metrics: [accuracy, macro_f1, roc_auc, log_loss]\n",
        encoding="utf-8",
    )
    return Project(root=root, spec=spec, data=data, base=base_path, tuned=tuned_path)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return build_project(tmp_path / "proj")


@pytest.fixture(autouse=True)
def _figures_pass_plotly_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every figure a test draws goes through plotly's validating ``go.Figure`` (the pages
    build figures as plain JSON, unvalidated, for speed): a misspelt property fails here."""
    from heldout.report import _figure

    unvalidated = _figure.Figure.to_plotly_json

    def validated(self: _figure.Figure) -> dict[str, object]:
        import plotly.graph_objects as go

        spec = unvalidated(self)
        go.Figure(spec)  # raises ValueError on any property plotly does not know
        return spec

    monkeypatch.setattr(_figure.Figure, "to_plotly_json", validated)
