"""Random test data for the scoring tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class ClassificationData:
    labels: tuple[str, ...]
    y_true: NDArray[np.int64]
    y_pred: NDArray[np.int64]
    proba: NDArray[np.float64]


def make_classification(n_classes: int, n: int = 400, seed: int = 0) -> ClassificationData:
    """Random labels, noisy predictions with some -1s, and probabilities with many ties."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, n_classes, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, n_classes, n))
    y_pred = np.where(rng.random(n) < 0.05, -1, y_pred)
    logits = rng.normal(size=(n, n_classes)) + 1.5 * np.eye(n_classes)[y_true]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    proba = np.round(proba, 1)  # coarse values: many tied scores
    proba[:, -1] = 1.0 - proba[:, :-1].sum(axis=1)
    proba = np.clip(proba, 0.0, 1.0)
    proba /= proba.sum(axis=1, keepdims=True)
    labels = tuple(f"class_{chr(97 + c)}" for c in range(n_classes))
    return ClassificationData(labels, y_true.astype(np.int64), y_pred.astype(np.int64), proba)
