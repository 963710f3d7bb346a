from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heldout import DataError
from heldout.data import load_dataset, read_table

ROWS = [
    {"qid": "a", "q": "What is 2+2?", "y": "4", "lang": "en", "grp": "g1"},
    {"qid": "b", "q": "Wie spät?", "y": "12", "lang": "de", "grp": "g1"},
    {"qid": "c", "q": "Qué?", "y": "eso", "lang": None, "grp": "g2"},
]


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def _load(path: Path, **kw: object) -> object:
    args: dict[str, object] = {"id": "qid", "input": "q", "target": "y", "target_kind": "label"}
    args.update(kw)
    return load_dataset(path, **args)  # type: ignore[arg-type]


def test_same_content_in_three_formats_has_one_hash(tmp_path: Path) -> None:
    frame = pd.DataFrame(ROWS)
    _jsonl(tmp_path / "d.jsonl", ROWS)
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    hashes = {
        _load(tmp_path / f"d.{ext}", slices=("lang",)).hash for ext in ("jsonl", "csv", "parquet")
    }  # type: ignore[attr-defined]
    assert len(hashes) == 1


def test_hash_changes_with_content(tmp_path: Path) -> None:
    a = _load(_jsonl(tmp_path / "a.jsonl", ROWS))
    changed = [dict(r) for r in ROWS]
    changed[2]["y"] = "that"
    b = _load(_jsonl(tmp_path / "b.jsonl", changed))
    assert a.hash != b.hash  # type: ignore[attr-defined]


def test_slices_clusters_and_examples(tmp_path: Path) -> None:
    ds = load_dataset(
        _jsonl(tmp_path / "d.jsonl", ROWS),
        id="qid",
        input="q",
        target="y",
        target_kind="label",
        slices=("lang",),
        cluster="grp",
    )
    assert list(ds.ids) == ["a", "b", "c"]
    assert list(ds.slices["lang"]) == ["en", "de", "(missing)"]
    assert list(ds.clusters) == ["g1", "g1", "g2"]  # type: ignore[arg-type]
    ex = ds.example(1)
    assert (ex.id, ex.input, ex.target, ex.slices, ex.cluster) == (
        "b",
        "Wie spät?",
        "12",
        {"lang": "de"},
        "g1",
    )


def test_content_ids_when_no_id_column(tmp_path: Path) -> None:
    ds = load_dataset(
        _jsonl(tmp_path / "d.jsonl", ROWS), id=None, input="q", target="y", target_kind="label"
    )
    assert len(set(ds.ids)) == 3 and all(len(i) == 16 for i in ds.ids)
    again = load_dataset(
        _jsonl(tmp_path / "e.jsonl", list(reversed(ROWS))),
        id=None,
        input="q",
        target="y",
        target_kind="label",
    )
    assert set(ds.ids) == set(again.ids)


def test_generation_targets_accept_text_or_list(tmp_path: Path) -> None:
    rows = [
        {"id": 1, "x": "hi", "refs": "hello"},
        {"id": 2, "x": "bye", "refs": ["goodbye", "bye now"]},
    ]
    ds = load_dataset(
        _jsonl(tmp_path / "g.jsonl", rows), id="id", input="x", target="refs", target_kind="texts"
    )
    assert list(ds.ids) == ["1", "2"]
    assert ds.targets[0] == ["hello"] and ds.targets[1] == ["goodbye", "bye now"]


def test_regression_targets_are_floats_and_must_be_numbers(tmp_path: Path) -> None:
    rows = [{"id": 1, "y": 1.5}, {"id": 2, "y": 3}]
    ds = load_dataset(
        _jsonl(tmp_path / "r.jsonl", rows), id="id", input=None, target="y", target_kind="number"
    )
    assert ds.targets.dtype == np.float64 and list(ds.targets) == [1.5, 3.0]
    rows.append({"id": 3, "y": "lots"})
    with pytest.raises(
        DataError, match=r"r2.jsonl:3: target column \"y\" holds 'lots', not a number"
    ):
        load_dataset(
            _jsonl(tmp_path / "r2.jsonl", rows),
            id="id",
            input=None,
            target="y",
            target_kind="number",
        )


def test_blank_lines_do_not_shift_reported_lines(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    p.write_text(
        '{"qid": "a", "q": "x", "y": "1"}\n\n{"qid": "a", "q": "y", "y": "2"}\n', encoding="utf-8"
    )
    with pytest.raises(DataError, match=r"d.jsonl:3: duplicate id \"a\" \(first seen on line 1\)"):
        _load(p)


def test_csv_bom_is_accepted_and_utf16_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_bytes(b"\xef\xbb\xbfqid,q,y\na,hello,1\nb,bye,2\n")
    assert list(_load(p).ids) == ["a", "b"]  # type: ignore[attr-defined]
    u = tmp_path / "u.csv"
    u.write_bytes("qid,q,y\na,hello,1\n".encode("utf-16"))
    with pytest.raises(DataError, match="UTF-16"):
        _load(u)


def test_mixed_types_in_a_column_still_load(tmp_path: Path) -> None:
    rows = [{"qid": 1, "q": "a", "y": 1}, {"qid": "2", "q": "b", "y": "two"}]
    table = read_table(_jsonl(tmp_path / "m.jsonl", rows))
    assert table.num_rows == 2
    ds = _load(tmp_path / "m.jsonl")
    assert list(ds.targets) == ["1", "two"]  # type: ignore[attr-defined]
