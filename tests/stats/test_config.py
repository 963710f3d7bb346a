from __future__ import annotations

import dataclasses

import pytest

from heldout.stats import StatsConfig


def test_defaults_and_alpha() -> None:
    config = StatsConfig()
    assert (config.confidence, config.n_resamples, config.seed) == (0.95, 1000, 0)
    assert (config.ci_method, config.correction, config.power) == ("percentile", "holm", 0.8)
    assert config.alpha == pytest.approx(0.05)


def test_config_is_frozen_and_keyword_only() -> None:
    config = StatsConfig(seed=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 4  # type: ignore[misc]
    with pytest.raises(TypeError):
        StatsConfig(0.9)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence": 95}, "confidence"),
        ({"power": 1.0}, "power"),
        ({"n_resamples": 0}, "n_resamples"),
        ({"ci_method": "basic"}, "ci_method"),
        ({"correction": "sidak"}, "correction"),
    ],
)
def test_invalid_settings_are_rejected_with_the_value(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        StatsConfig(**kwargs)  # type: ignore[arg-type]
