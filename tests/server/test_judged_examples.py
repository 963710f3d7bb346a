"""The examples page shows each judge's score and its reason beside the model's output."""

from __future__ import annotations

from pathlib import Path

import yaml
from fastapi.testclient import TestClient
from markupsafe import escape

import heldout
from heldout.server import create_app
from tests.run.test_judges_run import HELPFUL, _project


def test_judge_scores_and_reasons_are_on_the_examples_page(tmp_path: Path) -> None:
    (tmp_path / "my_judge.py").write_text("from tests.judges.scripted import judge\n")
    spec = _project(tmp_path, "http://127.0.0.1:9/v1", judges=[{**HELPFUL, "steps": ["Score."]}])
    data = yaml.safe_load(spec.read_text())
    data["judge_models"] = {"judge": {"backend": "python", "function": "my_judge:judge"}}
    spec.write_text(yaml.safe_dump(data))
    run = heldout.evaluate(spec)
    examples = run.examples().set_index("id")
    url = f"sqlite:///{tmp_path / 'runs.db'}"

    with TestClient(create_app(url)) as client:
        api = client.get(f"/api/runs/{run.id}/examples", params={"per_page": 5})
        page = client.get(f"/runs/{run.id}/examples", params={"per_page": 5})

    assert api.status_code == 200 and page.status_code == 200
    rows = api.json()["rows"]
    assert rows
    for row in rows:
        for out in row["outputs"]:
            model = out["model"]
            reason = examples.loc[row["id"], f"reason:helpful:{model}"]
            assert out["judged"] == {"helpful": reason}
            score = examples.loc[row["id"], f"helpful:{model}"]
            assert out["scores"]["helpful"] == f"{score:.3f}"
            assert f"<strong>helpful</strong>: {escape(reason)}" in page.text
