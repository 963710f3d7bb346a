from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats

from heldout import MetricError
from heldout.scoring import StatBlock
from heldout.stats import (
    HeldoutStatsWarning,
    StatsConfig,
    bootstrap_distribution,
    bootstrap_estimates,
    bootstrap_interval,
    paired_bootstrap,
    paired_bootstrap_distribution,
    shifted_null_p_value,
)

Agg = Callable[[NDArray[np.float64]], NDArray[np.float64]]

#: Confusion-cell probabilities (TP, FP, FN, TN) of a simulated classifier.
CELL_P = np.array([0.25, 0.08, 0.12, 0.55])


def _confusion(n: int, seed: int, p: NDArray[np.float64] = CELL_P) -> StatBlock:
    codes = np.random.default_rng(seed).choice(4, size=n, p=p)
    return StatBlock.cells(codes, 4)


def _ratio(sums: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mean as a ratio of column sums (value column over a column of ones)."""
    return sums[..., 0] / sums[..., 1]


def _dense_with_ones(x: NDArray[np.float64]) -> StatBlock:
    return StatBlock.dense(np.column_stack([x, np.ones_like(x)]))


def _row_resampled(block: StatBlock, agg: Agg, n_resamples: int, seed: int) -> NDArray[np.float64]:
    """The textbook bootstrap: redraw rows, recompute the metric, one resample at a time."""
    rows = block.rows()
    rng = np.random.default_rng(seed)
    out = np.empty(n_resamples)
    for b in range(n_resamples):
        out[b] = agg(rows[rng.integers(0, block.n, size=block.n)].sum(axis=0))
    return out


def _assert_same_distribution(ours: NDArray[np.float64], ref: NDArray[np.float64]) -> None:
    ours, ref = ours[np.isfinite(ours)], ref[np.isfinite(ref)]
    sd = ref.std()
    assert abs(ours.mean() - ref.mean()) < 0.1 * sd
    assert 0.93 < ours.std() / sd < 1.07


def test_multinomial_over_cells_matches_row_resampling(f1: Agg) -> None:
    block = _confusion(60, 1)
    ours = bootstrap_distribution(block, {"f1": f1}, config=StatsConfig(n_resamples=4000))
    _assert_same_distribution(ours["f1"].replicates, _row_resampled(block, f1, 4000, seed=99))


def test_per_example_index_draws_match_cell_multinomial(f1: Agg) -> None:
    cells = _confusion(60, 2)
    dense = StatBlock.dense(cells.rows())
    config = StatsConfig(n_resamples=4000)
    by_cells = bootstrap_distribution(cells, {"f1": f1}, config=config)["f1"]
    by_rows = bootstrap_distribution(dense, {"f1": f1}, config=config)["f1"]
    assert by_cells.point == by_rows.point
    _assert_same_distribution(by_rows.replicates, by_cells.replicates)


def test_metrics_of_one_block_share_one_set_of_resamples() -> None:
    block = _confusion(500, 3)
    aggs: dict[str, Agg] = {
        "tp": lambda s: s[..., 0],
        "fp": lambda s: s[..., 1],
        "precision": lambda s: s[..., 0] / (s[..., 0] + s[..., 1]),
    }
    dists = bootstrap_distribution(block, aggs, config=StatsConfig(n_resamples=300))
    tp, fp = dists["tp"].replicates, dists["fp"].replicates
    np.testing.assert_allclose(dists["precision"].replicates, tp / (tp + fp), rtol=1e-12)
    alone = bootstrap_distribution(block, {"fp": aggs["fp"]}, config=StatsConfig(n_resamples=300))
    np.testing.assert_array_equal(alone["fp"].replicates, fp)


def test_same_seed_gives_identical_intervals_and_another_seed_differs(f1: Agg) -> None:
    block = _confusion(400, 4)
    first = bootstrap_estimates(block, {"f1": f1}, config=StatsConfig(seed=7))
    again = bootstrap_estimates(block, {"f1": f1}, config=StatsConfig(seed=7))
    other = bootstrap_estimates(block, {"f1": f1}, config=StatsConfig(seed=8))
    assert first == again
    assert (first["f1"].ci_low, first["f1"].ci_high) != (other["f1"].ci_low, other["f1"].ci_high)


def test_percentile_interval_of_f1_covers_the_truth_at_nominal_rate(f1: Agg) -> None:
    truth = float(f1(CELL_P))
    config = StatsConfig(n_resamples=200)
    hits = []
    for sim in range(300):
        est = bootstrap_estimates(_confusion(500, 1000 + sim), {"f1": f1}, config=config)["f1"]
        hits.append(est.ci_low <= truth <= est.ci_high)
    assert est.method == "bootstrap-percentile"
    assert 0.92 <= np.mean(hits) <= 0.98


@pytest.mark.parametrize("dense", [False, True])
def test_jackknife_over_cell_types_equals_leave_one_example_out(f1: Agg, dense: bool) -> None:
    cells = _confusion(90, 5)
    block = StatBlock.dense(cells.rows()) if dense else cells
    config = StatsConfig(n_resamples=10, ci_method="bca")
    dist = bootstrap_distribution(block, {"f1": f1}, config=config)["f1"]
    rows = cells.rows()
    total = rows.sum(axis=0)
    naive = np.array([f1(total - rows[i]) for i in range(cells.n)])
    ours = np.repeat(dist.jackknife, dist.weights.astype(int))
    np.testing.assert_allclose(np.sort(ours), np.sort(naive), rtol=1e-12)


def test_bca_on_a_skewed_statistic_matches_scipy_and_leans_right() -> None:
    x = np.random.default_rng(6).lognormal(sigma=1.2, size=80)
    config = StatsConfig(n_resamples=6000, ci_method="bca")
    est = bootstrap_estimates(_dense_with_ones(x), {"mean": _ratio}, config=config)["mean"]
    ref = stats.bootstrap(
        (x,), np.mean, method="BCa", n_resamples=6000, rng=np.random.default_rng(0)
    ).confidence_interval
    width = ref.high - ref.low
    assert est.method == "bootstrap-bca"
    assert est.ci_low == pytest.approx(ref.low, abs=0.08 * width)
    assert est.ci_high == pytest.approx(ref.high, abs=0.08 * width)
    pct = bootstrap_estimates(
        _dense_with_ones(x), {"mean": _ratio}, config=StatsConfig(n_resamples=6000)
    )["mean"]
    assert est.ci_low > pct.ci_low and est.ci_high > pct.ci_high
    assert est.ci_low < est.value < est.ci_high


def _textbook_bca(
    reps: NDArray[np.float64], point: float, theta: NDArray[np.float64], confidence: float
) -> tuple[float, float]:
    """BCa from a per-example jackknife, counting replicates tied with the point as 1/2."""
    dev = theta.mean() - theta
    a = np.sum(dev**3) / (6 * np.sum(dev**2) ** 1.5)
    z0 = stats.norm.ppf((np.sum(reps < point) + np.sum(reps <= point)) / (2 * reps.size))
    z = stats.norm.ppf([(1 - confidence) / 2, (1 + confidence) / 2])
    low, high = np.quantile(reps, stats.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z))))
    return float(low), float(high)


def test_bca_interval_follows_efron_formula_on_a_skewed_mean() -> None:
    x = np.random.default_rng(15).lognormal(sigma=1.0, size=80)
    config = StatsConfig(n_resamples=2000, ci_method="bca", confidence=0.9)
    dist = bootstrap_distribution(_dense_with_ones(x), {"mean": _ratio}, config=config)["mean"]
    theta = np.array([np.delete(x, i).mean() for i in range(x.size)])
    assert np.sum((theta.mean() - theta) ** 3) > 0  # skewed: the acceleration matters
    ours = bootstrap_interval(dist, confidence=0.9, method="bca")
    assert tuple(ours) == pytest.approx(_textbook_bca(dist.replicates, dist.point, theta, 0.9))


def test_bca_interval_counts_replicates_tied_with_the_point_as_half(f1: Agg) -> None:
    block = _confusion(25, 16)
    config = StatsConfig(n_resamples=3000, ci_method="bca")
    dist = bootstrap_distribution(block, {"f1": f1}, config=config)["f1"]
    rows = block.rows()
    theta = np.array([f1(rows.sum(axis=0) - rows[i]) for i in range(block.n)])
    assert np.count_nonzero(dist.replicates == dist.point) > 30
    ours = bootstrap_interval(dist, confidence=0.95, method="bca")
    assert tuple(ours) == pytest.approx(_textbook_bca(dist.replicates, dist.point, theta, 0.95))


def test_bca_falls_back_to_percentile_when_point_is_outside_every_replicate() -> None:
    x = np.random.default_rng(7).normal(size=50)
    block = StatBlock.dense(x)
    total = float(x.sum())

    def peak(s: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(-((s[..., 0] - total) ** 2))

    config = StatsConfig(n_resamples=200, ci_method="bca")
    dist = bootstrap_distribution(block, {"peak": peak}, config=config)
    with pytest.warns(HeldoutStatsWarning, match="BCa is undefined"):
        bca = bootstrap_interval(dist["peak"], confidence=0.95, method="bca", name="peak")
    assert bca == bootstrap_interval(dist["peak"], confidence=0.95, method="percentile")


def test_bca_needs_a_distribution_built_with_jackknife_values(f1: Agg) -> None:
    dist = bootstrap_distribution(_confusion(50, 6), {"f1": f1}, config=StatsConfig())["f1"]
    assert dist.jackknife.shape == (0,)
    with pytest.raises(ValueError, match="jackknife"):
        bootstrap_interval(dist, confidence=0.95, method="bca")


def test_resamples_with_undefined_metric_are_dropped_with_a_warning(f1: Agg) -> None:
    block = StatBlock.cells(np.array([0] + [3] * 11), 4)
    with pytest.warns(HeldoutStatsWarning, match="undefined on"):
        est = bootstrap_estimates(block, {"f1": f1}, config=StatsConfig(n_resamples=500))["f1"]
    assert est.value == 1.0
    assert np.isfinite(est.ci_low) and np.isfinite(est.ci_high)


def test_metric_undefined_on_the_data_raises(f1: Agg) -> None:
    block = StatBlock.cells(np.array([3, 3, 3]), 4)
    with pytest.raises(MetricError, match="'f1' is undefined on these 3 examples"):
        bootstrap_estimates(block, {"f1": f1}, config=StatsConfig())


def test_cluster_bootstrap_is_wider_for_strongly_correlated_clusters() -> None:
    rng = np.random.default_rng(8)
    cluster = np.repeat(np.arange(50), 8)
    x = rng.normal(size=50)[cluster] + 0.1 * rng.normal(size=400)
    block = _dense_with_ones(x)
    config = StatsConfig(n_resamples=500)
    naive = bootstrap_estimates(block, {"mean": _ratio}, config=config)["mean"]
    clustered = bootstrap_estimates(block, {"mean": _ratio}, cluster=cluster, config=config)["mean"]
    assert clustered.method == "bootstrap-percentile-clustered"
    assert clustered.ci_high - clustered.ci_low > 2 * (naive.ci_high - naive.ci_low)


@pytest.mark.parametrize("clustered", [False, True])
def test_sparse_one_hot_cells_give_the_same_interval_as_a_dense_table(clustered: bool) -> None:
    n = 2100
    codes = np.random.default_rng(9).permutation(n).astype(np.int64)
    one_hot = StatBlock.cells(codes, n)
    table = StatBlock.cells(codes, n, np.eye(n))

    def share(s: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(s[..., : n // 3].sum(axis=-1) / s.sum(axis=-1))

    # One example per cluster keeps the (clusters x cells) count matrix too large to densify.
    cluster = n - np.arange(n) if clustered else None
    config = StatsConfig(n_resamples=40, ci_method="bca")
    sparse_est = bootstrap_estimates(one_hot, {"share": share}, cluster=cluster, config=config)
    dense_est = bootstrap_estimates(table, {"share": share}, cluster=cluster, config=config)
    assert sparse_est["share"].ci_low == pytest.approx(dense_est["share"].ci_low, rel=1e-12)
    assert sparse_est["share"].ci_high == pytest.approx(dense_est["share"].ci_high, rel=1e-12)


def _paired_blocks(n: int, seed: int, improvement: float) -> tuple[StatBlock, StatBlock]:
    """Baseline and candidate classifiers on the same labels; candidate fixes some errors."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    base = np.where(rng.random(n) < 0.75, y, 1 - y)
    cand = np.where(rng.random(n) < improvement, y, base)
    codes = [np.where(y == 1, np.where(p == 1, 0, 2), np.where(p == 1, 1, 3)) for p in (cand, base)]
    return StatBlock.cells(codes[0], 4), StatBlock.cells(codes[1], 4)


def test_paired_joint_cell_multinomial_matches_paired_row_resampling(f1: Agg) -> None:
    cand, base = _paired_blocks(80, 10, 0.3)
    ours = paired_bootstrap_distribution(
        cand, base, {"f1": f1}, config=StatsConfig(n_resamples=4000)
    )["f1"]
    rows_c, rows_b = cand.rows(), base.rows()
    rng = np.random.default_rng(5)
    ref = np.empty(4000)
    for b in range(4000):
        idx = rng.integers(0, 80, size=80)
        ref[b] = f1(rows_c[idx].sum(axis=0)) - f1(rows_b[idx].sum(axis=0))
    _assert_same_distribution(ours.replicates, ref)


def test_paired_bootstrap_p_value_is_the_shifted_null_share(f1: Agg) -> None:
    cand, base = _paired_blocks(300, 11, 0.05)
    dist = paired_bootstrap_distribution(
        cand, base, {"f1": f1}, config=StatsConfig(n_resamples=999)
    )["f1"]
    expected = (1 + np.sum(np.abs(dist.replicates - dist.point) >= abs(dist.point))) / 1000
    assert shifted_null_p_value(dist) == pytest.approx(expected)
    diff = paired_bootstrap(cand, base, {"f1": f1}, config=StatsConfig(n_resamples=999))["f1"]
    assert diff.p_value == pytest.approx(expected)
    assert diff.test == "paired-bootstrap"
    assert diff.delta == pytest.approx(float(f1(cand.sums()) - f1(base.sums())))


def test_paired_bootstrap_separates_a_clear_gain_from_no_change(f1: Agg) -> None:
    cand, base = _paired_blocks(2000, 12, 0.4)
    config = StatsConfig(n_resamples=500)
    gain = paired_bootstrap(cand, base, {"f1": f1}, config=config)["f1"]
    same = paired_bootstrap(base, base, {"f1": f1}, config=config)["f1"]
    assert gain.ci_low > 0 and gain.p_value == pytest.approx(1 / 501)
    assert same.delta == 0.0 and same.p_value == 1.0


def test_pairing_narrows_the_interval_of_a_difference(f1: Agg) -> None:
    cand, base = _paired_blocks(1000, 13, 0.1)
    config = StatsConfig(n_resamples=1000)
    paired = paired_bootstrap_distribution(cand, base, {"f1": f1}, config=config)["f1"]
    var_c = bootstrap_distribution(cand, {"f1": f1}, config=config)["f1"].replicates.var()
    var_b = bootstrap_distribution(base, {"f1": f1}, config=config)["f1"].replicates.var()
    assert paired.replicates.var() < 0.5 * (var_c + var_b)


def test_paired_bootstrap_over_per_example_blocks_and_clusters() -> None:
    rng = np.random.default_rng(14)
    base = rng.normal(size=300)
    cand = base + 0.3 + 0.2 * rng.normal(size=300)
    config = StatsConfig(n_resamples=400, ci_method="bca")
    blocks = _dense_with_ones(cand), _dense_with_ones(base)
    plain = paired_bootstrap(*blocks, {"mean": _ratio}, config=config)["mean"]
    clustered = paired_bootstrap(
        *blocks, {"mean": _ratio}, cluster=np.arange(300) // 10, config=config
    )["mean"]
    assert plain.delta == pytest.approx(float(np.mean(cand - base)))
    assert plain.ci_low < plain.delta < plain.ci_high and plain.ci_low > 0
    assert clustered.test == "paired-bootstrap-clustered"
    assert clustered.ci_low < clustered.delta < clustered.ci_high


def test_paired_bootstrap_rejects_blocks_of_different_examples(f1: Agg) -> None:
    with pytest.raises(MetricError, match="same examples"):
        paired_bootstrap(_confusion(10, 1), _confusion(11, 1), {"f1": f1}, config=StatsConfig())
