"""Analysis benchmark: every analysis of issue 5 on 1,000,000 examples with 10 slice values.

Data (seeded, simulated; see ``simulate``): binary classification with probabilities for
two models on the same 1,000,000 examples. The label is ``y = [u + v + w > c]`` with
independent standard normals and ``c`` set for 30% positives. The base model sees ``u``
and gives ``P(y | u)`` exactly (calibrated); the tuned model sees ``u + v`` (better) but
sharpens its probit by 1.8 (overconfident), and on segment ``s7`` it sees ``u`` plus noise
instead (the planted slice regression). For drift, a reference and a current sample of
1,000,000 rows each: the current one spans 56 days, its feature ``x`` moves by 0.3 standard
deviations from day 28 on, and its predictions get worse day by day.

Each analysis is timed (``time.perf_counter``, imports paid before), then run a second time
under ``tracemalloc`` for its peak memory (the peak of Python and numpy allocations traced
while it runs, above what was allocated when it started; numpy reports its buffers to
tracemalloc). Tracing slows code that allocates many small objects, so the times come from
the untraced run. The whole run's peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``)
is printed at the end. ``--no-memory`` skips the traced runs.
Each planted effect is checked, and the run exits 1 when one is not found.

Usage: python benchmarks/bench_analysis.py [--rows 1000000] [--stages slices,drift]
       [--no-memory] [--profile STAGE] [--json benchmarks/results/bench_analysis.json]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import math
import platform
import pstats
import resource
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.special import ndtr

LABELS = ("neg", "pos")
SEGMENTS = 10
REGRESSED = "s7"
SHARPEN = 1.8
SHIFT = 0.3
DAYS = 56


@dataclass
class Data:
    n: int
    y: np.ndarray
    segment: np.ndarray
    proba: dict[str, np.ndarray]
    pred: dict[str, np.ndarray]
    inputs: np.ndarray
    ids: np.ndarray
    reference: pa.Table
    current: pa.Table


def simulate(n: int, seed: int = 0) -> Data:
    rng = np.random.default_rng(seed)
    u, v, w = rng.standard_normal((3, n))
    c = 0.5244005127080407 * math.sqrt(3.0)  # P(N(0, 3) > c) = 0.3
    y = (u + v + w > c).astype(np.int64)
    segment = np.array([f"s{k}" for k in range(SEGMENTS)], dtype=object)[
        rng.integers(0, SEGMENTS, n)
    ]
    p_base = ndtr((u - c) / math.sqrt(2.0))
    seen = u + v
    bad = segment == REGRESSED
    seen[bad] = u[bad] + 1.2 * rng.standard_normal(int(bad.sum()))
    p_tuned = ndtr(SHARPEN * (seen - c))
    proba = {
        name: np.clip(np.column_stack([1.0 - p, p]), 0.0, 1.0)
        for name, p in (("base", p_base), ("tuned", p_tuned))
    }
    pred = {name: (p[:, 1] >= 0.5).astype(np.int64) for name, p in proba.items()}
    words = rng.integers(3, 40, n)
    vocab = np.array(["ticket", "refund", "late", "order", "card", "help", "app", "box"])
    inputs = np.array(
        [" ".join(vocab[: int(k) % 8 + 1]) + f" x{k}" * (int(k) // 8) for k in words],
        dtype=object,
    )
    ids = np.array([f"ex{i:07d}" for i in range(n)], dtype=object)
    return Data(n, y, segment, proba, pred, inputs, ids, *_drift_tables(rng, n, segment, y, pred))


def _drift_tables(
    rng: np.random.Generator, n: int, segment: np.ndarray, y: np.ndarray, pred: dict[str, Any]
) -> tuple[pa.Table, pa.Table]:
    labels = np.array(LABELS, dtype=object)
    reference = pa.table(
        {
            "x": rng.standard_normal(n),
            "segment": segment,
            "label": labels[y],
            "prediction": labels[pred["tuned"]],
        }
    )
    day = np.sort(rng.integers(0, DAYS, n))
    x = rng.standard_normal(n) + np.where(day >= DAYS // 2, SHIFT, 0.0)
    # the current predictions decay: from the tuned model's own to 15 points worse
    flip = rng.random(n) < 0.15 * day / DAYS
    cur_pred = np.where(flip, 1 - pred["tuned"], pred["tuned"])
    dates = np.datetime64("2024-01-01") + day.astype("timedelta64[D]")
    current = pa.table(
        {
            "when": pa.array(dates.astype("datetime64[s]").astype(str)),
            "x": x,
            "segment": segment[rng.permutation(n)],
            "label": labels[y],
            "prediction": labels[cur_pred],
        }
    )
    return reference, current


def write_spec(data: Data, root: Path) -> Path:
    labels = np.array(LABELS, dtype=object)
    ids = pa.array(data.ids.astype(str))
    pq.write_table(
        pa.table({"id": ids, "label": labels[data.y], "segment": data.segment.astype(str)}),
        root / "data.parquet",
    )
    for name in ("base", "tuned"):
        p = data.proba[name]
        pq.write_table(
            pa.table(
                {
                    "id": ids,
                    "prediction": labels[data.pred[name]],
                    "p_neg": p[:, 0],
                    "p_pos": p[:, 1],
                }
            ),
            root / f"{name}.parquet",
        )
    spec = root / "eval.yaml"
    probabilities = "probabilities: {neg: p_neg, pos: p_pos}"
    spec.write_text(
        "name: bench-analysis\n"
        "dataset: {path: data.parquet, id: id, target: label, slices: [segment]}\n"
        "task: {type: classification, labels: [neg, pos], positive_label: pos}\n"
        "models:\n"
        f"  base:  {{backend: predictions, path: base.parquet, {probabilities}}}\n"
        f"  tuned: {{backend: predictions, path: tuned.parquet, {probabilities}}}\n"
        "compare: {candidate: tuned, baseline: base}\n"
        "metrics: [accuracy, f1, roc_auc, brier]\n"
        "stats: {resamples: 1000, seed: 0}\n",
        encoding="utf-8",
    )
    return spec


# ------------------------------------------------------------------------------ stages


def stage_slices(d: Data) -> Any:
    from heldout.analysis import slice_results
    from heldout.scoring import score_classification
    from heldout.stats import StatsConfig

    rows = {
        m: score_classification(d.y, d.pred[m], labels=LABELS, metrics=["accuracy", "f1"], model=m)
        for m in ("base", "tuned")
    }
    out = {}
    for metric in ("accuracy", "f1"):
        out[metric] = slice_results(
            rows,
            {"segment": d.segment},
            metric=metric,
            candidate="tuned",
            baseline="base",
            clusters=None,
            config=StatsConfig(),
            min_size=30,
        )
    return out


def check_slices(found: Any) -> list[str]:
    problems = []
    for metric, results in found.items():
        worse = {s.value for s in results if s.comparison and s.comparison.verdict == "worse"}
        if worse != {REGRESSED}:
            problems.append(f"slices ({metric}): worse slices {sorted(worse)}, want {REGRESSED}")
    return problems


def stage_fairness(d: Data) -> Any:
    from heldout.analysis import fairness, fairness_pair
    from heldout.stats import StatsConfig

    config = StatsConfig()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reports = {
            m: fairness(d.y, d.pred[m], d.segment, labels=LABELS, config=config)
            for m in ("base", "tuned")
        }
        pair = fairness_pair(
            d.y, d.pred["tuned"], d.pred["base"], d.segment, labels=LABELS, config=config
        )
    return reports, pair


def check_fairness(found: Any) -> list[str]:
    reports, pair = found
    from fairlearn.metrics import equalized_odds_difference

    tuned = reports["tuned"].classes[0]
    gaps = {g.metric: g for g in tuned.gaps}
    problems = []
    eo = gaps["equalized_odds_difference"]
    reference = equalized_odds_difference(
        _DATA.y, _DATA.pred["tuned"], sensitive_features=_DATA.segment
    )
    if abs(eo.estimate.value - reference) > 1e-9:
        problems.append(f"fairness: EO difference {eo.estimate.value} != fairlearn {reference}")
    if eo.lowest != REGRESSED and eo.highest != REGRESSED:
        problems.append(f"fairness: the regressed segment is not at an extreme of EO ({eo})")
    worse = [c for c in pair.changes if c.change.verdict == "worse"]
    if not worse:
        problems.append("fairness: no gap grew significantly from base to tuned")
    return problems


def stage_calibration(d: Data) -> Any:
    from heldout.analysis import calibration, calibration_pair
    from heldout.stats import StatsConfig

    config = StatsConfig()
    reports = {m: calibration(d.y, d.proba[m], labels=LABELS, config=config) for m in d.proba}
    pair = calibration_pair(d.y, d.proba["tuned"], d.proba["base"], labels=LABELS, config=config)
    return reports, pair


def check_calibration(found: Any) -> list[str]:
    reports, pair = found
    problems = []
    if pair.verdict != "worse calibrated":
        problems.append(f"calibration: verdict {pair.verdict!r}, want 'worse calibrated'")
    if not reports["base"].calibrated_p_value > 0.001:
        problems.append("calibration: the calibrated base model was called miscalibrated")
    if not reports["tuned"].calibrated_p_value < 0.001:
        problems.append("calibration: the overconfident tuned model was called calibrated")
    return problems


def stage_thresholds(d: Data) -> Any:
    from heldout.analysis import choose_threshold, coverage_accuracy, curves
    from heldout.stats import StatsConfig

    config = StatsConfig()
    score = d.proba["tuned"][:, 1]
    found = curves(d.y, score)
    choice = choose_threshold(d.y, score, target="recall", value=0.9, config=config)
    cost = choose_threshold(d.y, score, target="cost", costs={"fn": 10.0, "fp": 1.0}, config=config)
    coverage = coverage_accuracy(
        d.y, d.pred["tuned"], d.proba["tuned"].max(axis=1), target_accuracy=0.95, config=config
    )
    return found, choice, cost, coverage


def check_thresholds(found: Any) -> list[str]:
    from sklearn.metrics import roc_auc_score

    curve, choice, cost, coverage = found
    problems = []
    auc = roc_auc_score(_DATA.y, _DATA.proba["tuned"][:, 1])
    if abs(curve.roc_auc - auc) > 1e-9:
        problems.append(f"thresholds: ROC AUC {curve.roc_auc} != sklearn {auc}")
    r = choice.recall
    if not (choice.reached and r.ci_low <= 0.9 + 1e-3 and r.value >= 0.9):
        problems.append(f"thresholds: recall at the chosen threshold {r}")
    if not cost.threshold < 0.5:
        problems.append(f"thresholds: fn 10× fp should lower the threshold, got {cost.threshold}")
    if coverage.at_target is None:
        problems.append("thresholds: no coverage reaches accuracy 0.95")
    return problems


def stage_confusion(d: Data) -> Any:
    from heldout.analysis import confusion_matrix

    return {m: confusion_matrix(d.y, d.pred[m], LABELS) for m in d.pred}


def check_confusion(found: Any) -> list[str]:
    from sklearn.metrics import confusion_matrix as sk_confusion

    problems = []
    for m, cm in found.items():
        if np.asarray(cm.counts).tolist() != sk_confusion(_DATA.y, _DATA.pred[m]).tolist():
            problems.append(f"confusion ({m}): differs from sklearn")
    return problems


def stage_errors(d: Data) -> Any:
    from heldout.analysis import _errors
    from heldout.scoring import score_classification
    from heldout.stats import StatsConfig

    config = StatsConfig()
    rows = {
        m: score_classification(d.y, d.pred[m], labels=LABELS, metrics=["accuracy"], model=m)
        for m in ("base", "tuned")
    }
    correct = {m: (d.pred[m] == d.y).astype(np.float64) for m in d.pred}
    labels = np.array(LABELS, dtype=object)
    return (
        _errors.per_class_metrics(d.y, d.pred["tuned"], LABELS, config=config),
        _errors.confident_errors(d.ids, d.inputs, d.y, d.pred["tuned"], d.proba["tuned"], LABELS),
        _errors.changed_examples(
            d.ids,
            d.inputs,
            labels[d.y],
            labels[d.pred["tuned"]],
            labels[d.pred["base"]],
            correct["tuned"],
            correct["base"],
        ),
        _errors.length_buckets(
            rows,
            d.inputs,
            metric="accuracy",
            candidate="tuned",
            baseline="base",
            config=config,
        ),
    )


def check_errors(found: Any) -> list[str]:
    per_class, confident, (_, _, n_fixed, n_broken), buckets = found
    problems = []
    fixed = int(((_DATA.pred["tuned"] == _DATA.y) & (_DATA.pred["base"] != _DATA.y)).sum())
    broken = int(((_DATA.pred["tuned"] != _DATA.y) & (_DATA.pred["base"] == _DATA.y)).sum())
    if (n_fixed, n_broken) != (fixed, broken):
        problems.append(f"errors: fixed/broken {(n_fixed, n_broken)} != {(fixed, broken)}")
    if len(confident) != 20 or len(per_class) != len(LABELS) or not buckets:
        problems.append("errors: missing confident errors, per-class metrics or buckets")
    return problems


def stage_drift(d: Data) -> Any:
    from heldout.analysis import drift

    return drift(
        d.current,
        d.reference,
        target="label",
        prediction="prediction",
        time="when",
        window="7d",
    )


def check_drift(report: Any) -> list[str]:
    problems = []
    if report.drifted != ("x",):
        problems.append(f"drift: drifting columns {report.drifted}, want ('x',)")
    late = [w for w in report.windows if "x" in w.drifted]
    if [w.index for w in late] != [4, 5, 6, 7]:
        problems.append(f"drift: x drifts in windows {[w.index for w in late]}, want 4–7")
    t = report.trend
    if t is None or not (t.slope < 0 and t.p_value < 0.05):
        problems.append(f"drift: no significant downward trend of accuracy ({t})")
    return problems


def stage_evaluate(d: Data) -> Any:
    import heldout

    with tempfile.TemporaryDirectory() as tmp:
        spec = write_spec(d, Path(tmp))
        started = time.perf_counter()
        run = heldout.evaluate(spec, save=False)
        return run, time.perf_counter() - started


def check_evaluate(found: Any) -> list[str]:
    run, _ = found
    task = run.tasks[0] if hasattr(run, "tasks") else None
    if task is None:
        return ["evaluate: the run has no task"]
    worse = {
        s.value for s in task.slices if s.comparison is not None and s.comparison.verdict == "worse"
    }
    problems = []
    if worse != {REGRESSED}:
        problems.append(f"evaluate: worse slices {sorted(worse)}, want {REGRESSED}")
    comparison = task.calibration_comparison
    if comparison is None or comparison.verdict != "worse calibrated":
        problems.append("evaluate: the tuned model's miscalibration was not found")
    return problems


STAGES: dict[str, tuple[str, Callable[[Data], Any], Callable[[Any], list[str]]]] = {
    "slices": (
        "slices: accuracy and F1 per segment, paired deltas, Holm",
        stage_slices,
        check_slices,
    ),
    "fairness": (
        "fairness: parity, equalized odds per model + change, bootstrap CIs",
        stage_fairness,
        check_fairness,
    ),
    "calibration": (
        "calibration: ECE (15 equal-mass bins), reliability + Wilson, pair",
        stage_calibration,
        check_calibration,
    ),
    "thresholds": (
        "thresholds: ROC/PR curves, recall 0.9 and cost thresholds, coverage",
        stage_thresholds,
        check_thresholds,
    ),
    "confusion": ("confusion matrices, both models", stage_confusion, check_confusion),
    "errors": (
        "errors: per-class CIs, confident errors, fixed/broken, length buckets",
        stage_errors,
        check_errors,
    ),
    "drift": (
        "drift: monitor 1M vs 1M, --time, 7-day windows, accuracy trend",
        stage_drift,
        check_drift,
    ),
    "evaluate": (
        "heldout.evaluate on the predictions-file spec (save=False)",
        stage_evaluate,
        check_evaluate,
    ),
}

_DATA: Data


def _measure(
    fn: Callable[[Data], Any], d: Data, *, memory: bool, profile: bool
) -> tuple[Any, float, float | None]:
    gc.collect()
    profiler = cProfile.Profile() if profile else None
    if memory:
        tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    result = fn(d)
    if profiler is not None:
        profiler.disable()
    elapsed = time.perf_counter() - started
    peak = None
    if memory:
        peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20
        tracemalloc.stop()
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue(), file=sys.stderr)
    return result, elapsed, peak


def main() -> int:
    global _DATA
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--no-memory", action="store_true", help="time without tracemalloc")
    parser.add_argument("--profile", default="", help="cProfile this stage (to stderr)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    names = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = [s for s in names if s not in STAGES]
    if unknown:
        parser.error(f"unknown stage(s) {unknown}; choose from {', '.join(STAGES)}")

    started = time.perf_counter()
    # imports are paid once, before any stage is timed
    import fairlearn.metrics  # noqa: F401
    import scipy.stats  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import statsmodels.api  # noqa: F401

    import heldout
    import heldout.analysis

    source = Path(heldout.__file__).parent
    print(f"imports: {time.perf_counter() - started:.1f} s (heldout from {source})", flush=True)
    started = time.perf_counter()
    _DATA = simulate(args.rows)
    print(
        f"simulated {args.rows:,} examples, {SEGMENTS} segments: "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for name in names:
        title, fn, check = STAGES[name]
        # timed untraced; then, unless --no-memory, run again under tracemalloc for its peak
        result, elapsed, _ = _measure(fn, _DATA, memory=False, profile=args.profile == name)
        peak = None
        if not args.no_memory:
            _, _, peak = _measure(fn, _DATA, memory=True, profile=False)
        if name == "evaluate":
            elapsed = result[1]
        found = check(result)
        problems += found
        rows.append(
            {
                "stage": name,
                "what": title,
                "seconds": round(elapsed, 2),
                "peak_mib": None if peak is None else round(peak, 1),
                "ok": not found,
            }
        )
        mem = "" if peak is None else f"{peak:8.0f} MiB"
        print(
            f"{name:12s} {elapsed:8.2f} s {mem}  {'ok' if not found else 'MISSED'}  {title}",
            flush=True,
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the whole run (ru_maxrss): {rss:,.0f} MiB")
    for p in problems:
        print(f"MISSED: {p}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "rows": args.rows,
                    "seconds": "untraced run, time.perf_counter",
                    "memory": "none" if args.no_memory else "tracemalloc peak, second run",
                    "python": platform.python_version(),
                    "stages": rows,
                    "peak_rss_mib": round(rss),
                    "problems": problems,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
