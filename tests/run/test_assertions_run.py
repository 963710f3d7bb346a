"""Assertions and custom metrics in a run: pass rates with intervals, McNemar, columns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from typer.testing import CliRunner

import heldout
from heldout.cli import app
from heldout.store import Store
from tests.run.helpers import write_jsonl

runner = CliRunner()


def _preds(path: Path) -> list[str]:
    return [json.loads(line)["prediction"] for line in path.read_text().splitlines()]


def _project(tmp_path: Path, **extra: Any) -> Path:
    rng = np.random.default_rng(3)
    n = 120
    rows, base, tuned = [], [], []
    for i in range(n):
        ref = f"Dear customer, your ticket {i} is closed"
        rows.append(
            {"id": f"q{i}", "text": f"close ticket {i}", "answer": ref, "tier": f"t{i % 3}"}
        )
        polite = "please reply" if rng.random() < 0.7 else "reply"
        tuned.append({"id": f"q{i}", "prediction": f"Dear customer, ticket {i} closed, {polite}"})
        sorry = "sorry, " if rng.random() < 0.5 else ""
        base.append({"id": f"q{i}", "prediction": f"{sorry}ticket {i} closed"})
    write_jsonl(tmp_path / "eval.jsonl", rows)
    write_jsonl(tmp_path / "base.jsonl", base)
    write_jsonl(tmp_path / "tuned.jsonl", tuned)
    (tmp_path / "reply.json").write_text(json.dumps({"type": "object", "required": ["answer"]}))
    (tmp_path / "checks.py").write_text(
        "def is_polite(outputs, targets):\n    return ['please' in o for o in outputs]\n"
    )
    spec: dict[str, Any] = {
        "name": "assertions",
        "models": {
            "base": {"backend": "predictions", "path": "base.jsonl"},
            "tuned": {"backend": "predictions", "path": "tuned.jsonl"},
        },
        "compare": {"candidate": "tuned", "baseline": "base"},
        "dataset": {
            "path": "eval.jsonl",
            "id": "id",
            "input": "text",
            "target": "answer",
            "slices": ["tier"],
        },
        "task": {
            "type": "generation",
            "assertions": [
                {"name": "polite", "contains": ["please", "thanks"], "mode": "any"},
                {"name": "no_apology", "not_contains": ["sorry"], "case_sensitive": False},
                {"name": "starts", "starts_with": "Dear"},
                {"name": "short", "max_words": 6},
                {"name": "close", "edit_distance": {"max": 0.5}},
                {"name": "fmt", "regex": r"ticket \d+"},
                {"name": "json", "json_schema": "reply.json"},
                {"name": "custom", "python": "checks:is_polite"},
            ],
        },
        "metrics": ["exact_match", "chrf"],
        "store": "runs.db",
    }
    spec.update(extra)
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return tmp_path / "eval.yaml"


def test_assertions_become_pass_rates_with_intervals_and_mcnemar(tmp_path: Path) -> None:
    run = heldout.evaluate(_project(tmp_path))
    preds = {m: _preds(tmp_path / f"{m}.jsonl") for m in ("base", "tuned")}
    polite = {m: np.array(["please" in p for p in preds[m]], dtype=float) for m in preds}
    est = run.metrics["tuned"]["polite"]
    assert est.value == pytest.approx(polite["tuned"].mean())
    assert est.ci_low < est.value < est.ci_high
    assert est.method in ("wilson", "clt")
    assert run.metrics["base"]["polite"].value == 0.0
    # the python check says the same as contains: please
    assert run.metrics["tuned"]["custom"].value == pytest.approx(est.value)
    starts = run.metrics["tuned"]["starts"].value
    assert starts == 1.0 and run.metrics["base"]["starts"].value == 0.0
    no_apology = np.array(["sorry" not in p.lower() for p in preds["base"]], dtype=float)
    assert run.metrics["base"]["no_apology"].value == pytest.approx(no_apology.mean())
    assert run.metrics["tuned"]["json"].value == 0.0
    # McNemar against statsmodels on the paired 0/1 columns
    a, b = polite["tuned"], polite["base"]
    table = [
        [np.sum((a == 1) & (b == 1)), np.sum((a == 1) & (b == 0))],
        [np.sum((a == 0) & (b == 1)), np.sum((a == 0) & (b == 0))],
    ]
    d = run.comparisons["polite"]
    assert d.delta == pytest.approx(a.mean() - b.mean())
    assert d.test.startswith("mcnemar")
    ref = sm_mcnemar(table, exact=d.test == "mcnemar-exact", correction=False)
    assert d.p_value == pytest.approx(ref.pvalue, rel=1e-6) or d.p_value < 1e-10
    assert d.verdict == "better"
    # per-example columns, like any score
    frame = run.examples()
    assert frame["polite:tuned"].tolist() == polite["tuned"].tolist()
    assert "close:base" in frame.columns


def test_assertions_survive_the_store_and_show_in_the_cli(tmp_path: Path) -> None:
    spec = _project(tmp_path)
    run = heldout.evaluate(spec)
    with Store.open(f"sqlite:///{tmp_path / 'runs.db'}") as store:
        back = store.load_run(run.id)
    assert back.tasks[0].metrics["tuned"]["no_apology"] == run.metrics["tuned"]["no_apology"]
    assert back.comparisons["polite"] == run.comparisons["polite"]
    assert "polite:tuned" in back.examples().columns
    result = runner.invoke(app, ["run", str(spec), "--no-report"])
    assert result.exit_code == 0, result.output
    assert "polite" in result.output


@pytest.mark.parametrize(
    ("assertion", "words"),
    [
        ({"name": "bad", "regex": "([a-z"}, "invalid regex"),
        ({"name": "bad", "json_schema": "missing.json"}, "cannot read schema"),
        ({"name": "bad", "python": "nowhere:check"}, "cannot import module"),
        ({"name": "bad", "contains": ["a"], "regex": "b"}, "exactly one check"),
    ],
)
def test_a_bad_assertion_is_one_line_and_exit_2(
    tmp_path: Path, assertion: dict[str, Any], words: str
) -> None:
    spec = _project(tmp_path)
    data = yaml.safe_load(spec.read_text())
    data["task"]["assertions"] = [assertion]
    spec.write_text(yaml.safe_dump(data))
    result = runner.invoke(app, ["run", str(spec), "--no-report"])
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_invalid_schema_file_is_a_spec_error(tmp_path: Path) -> None:
    spec = _project(tmp_path)
    (tmp_path / "reply.json").write_text(json.dumps({"type": "no-such-type"}))
    with pytest.raises(heldout.SpecError, match="not a valid JSON schema"):
        heldout.evaluate(spec, save=False)


def _with_custom(tmp_path: Path, module: str, *, metrics: list[str]) -> Path:
    """A project whose task imports the custom metrics of ``module``."""
    spec = _project(tmp_path, metrics=metrics)
    data = yaml.safe_load(spec.read_text())
    data["task"]["custom_metrics"] = [module]
    spec.write_text(yaml.safe_dump(data))
    return spec


def test_a_custom_metric_gets_an_interval_a_paired_test_and_a_column(tmp_path: Path) -> None:
    (tmp_path / "lengths.py").write_text(
        "import heldout\n"
        "import numpy as np\n"
        "@heldout.metric('chars_run', higher_is_better=False)\n"
        "def chars_run(y_true, y_pred):\n"
        "    return [float(len(p)) for p in y_pred]\n"
        "@heldout.metric('median_chars_run', higher_is_better=False, aggregate=np.median)\n"
        "def median_chars_run(y_true, y_pred):\n"
        "    return [float(len(p)) for p in y_pred]\n"
    )
    spec = _with_custom(
        tmp_path, "lengths", metrics=["exact_match", "chars_run", "median_chars_run"]
    )
    run = heldout.evaluate(spec, save=False)
    preds = _preds(tmp_path / "tuned.jsonl")
    lengths = np.array([len(p) for p in preds], dtype=float)
    est = run.metrics["tuned"]["chars_run"]
    assert est.value == pytest.approx(lengths.mean())
    assert est.method.startswith("clt")
    med = run.metrics["tuned"]["median_chars_run"]
    assert med.value == pytest.approx(np.median(lengths))
    assert med.method.startswith("bootstrap")
    assert med.ci_low <= med.value <= med.ci_high
    assert run.comparisons["chars_run"].test == "paired-t"
    assert run.comparisons["median_chars_run"].test.startswith("paired-bootstrap")
    assert run.examples()["chars_run:tuned"].tolist() == lengths.tolist()


def test_an_unknown_metric_suggests_custom_ones_too(tmp_path: Path) -> None:
    (tmp_path / "lengths2.py").write_text(
        "import heldout\n"
        "@heldout.metric('answer_chars')\n"
        "def answer_chars(y_true, y_pred):\n"
        "    return [float(len(p)) for p in y_pred]\n"
    )
    spec = _with_custom(tmp_path, "lengths2:answer_chars", metrics=["answer_char"])
    result = runner.invoke(app, ["run", str(spec), "--no-report"])
    assert result.exit_code == 2, result.output
    assert 'did you mean "answer_chars"' in result.output


def test_a_bad_metric_name_in_a_custom_module_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "badname.py").write_text(
        "import heldout\n"
        "@heldout.metric('chars:run')\n"
        "def chars(y_true, y_pred):\n"
        "    return [float(len(p)) for p in y_pred]\n"
    )
    spec = _with_custom(tmp_path, "badname", metrics=["exact_match"])
    result = runner.invoke(app, ["run", str(spec), "--no-report"])
    assert result.exit_code == 2, result.output
    assert "'chars:run' must be non-empty and hold no ':'" in result.output
    assert "Traceback" not in result.output


def test_assertions_average_over_every_sampled_draw_like_the_other_metrics(
    tmp_path: Path,
) -> None:
    from tests.models.openai_server import OpenAIServer

    # each example is answered "yes" on its first draw and "no" on its second
    seen: dict[str, int] = {}

    def answer(prompt: str) -> str:
        seen[prompt] = seen.get(prompt, 0) + 1
        return "yes" if seen[prompt] == 1 else "no"

    rows = [{"id": f"e{i}", "q": f"question {i}?", "a": "yes"} for i in range(10)]
    write_jsonl(tmp_path / "eval.jsonl", rows)
    with OpenAIServer(answer=answer) as server:
        spec = {
            "name": "draws",
            "models": {
                "m": {
                    "backend": "openai",
                    "model": "m",
                    "base_url": server.base_url,
                    "concurrency": 1,
                }
            },
            "dataset": {"path": "eval.jsonl", "id": "id", "input": "q", "target": "a"},
            "task": {
                "type": "generation",
                "sampling": {"samples": 2, "temperature": 1.0},
                "assertions": [{"name": "says_yes", "contains": "yes"}],
            },
            "metrics": ["exact_match"],
            "utility": {"says_yes": 1, "exact_match": 1},
            "store": "runs.db",
        }
        (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        run = heldout.evaluate(tmp_path / "eval.yaml")
    assert server.count == 20
    # every example passes on one draw of two: exact_match and the assertion agree
    assert run.metrics["m"]["exact_match"].value == pytest.approx(0.5)
    assert run.metrics["m"]["says_yes"].value == pytest.approx(0.5)
    np.testing.assert_allclose(run.examples()["says_yes:m"], np.full(10, 0.5))
    # the share of passing draws is still a rate in [0, 1] for the utility
    assert run.metrics["m"]["utility"].value == pytest.approx(0.5)
