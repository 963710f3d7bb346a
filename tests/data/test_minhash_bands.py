"""The LSH banding heldout picks is the one datasketch's MinHashLSH picks."""

from __future__ import annotations

import pytest
from datasketch import MinHashLSH  # type: ignore[import-untyped]

from heldout.data._minhash import _WEIGHTS, NUM_PERM, _bands


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
@pytest.mark.parametrize("num_perm", [64, NUM_PERM])
def test_bands_equal_datasketch(threshold: float, num_perm: int) -> None:
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=_WEIGHTS)
    assert _bands(threshold, num_perm) == (lsh.b, lsh.r)
