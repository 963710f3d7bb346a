"""``heldout plan`` (how many examples; what an eval set can detect) and ``heldout sample``."""

from __future__ import annotations

import csv
import json
import math
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from heldout._errors import DataError, HeldoutError
from heldout.cli._app import _out, _user_errors, app, write_document
from heldout.data import (
    FileFormat,
    StratifiedSample,
    column_values,
    detect_format,
    read_table,
    stratified_sample,
    write_table,
)
from heldout.data._checks import require_column
from heldout.stats import (
    DEFAULT_DISAGREEMENT,
    DataPower,
    mde_for_n,
    mde_from_data,
    paired_mean_n,
    paired_proportion_n,
)

__all__ = ["data_power", "plan", "print_power", "sample"]

_ALPHA, _POWER = 0.05, 0.8


def data_power(
    table: pa.Table,
    *,
    path: Path,
    target: str | None,
    slices: Sequence[str] = (),
    predictions: tuple[str, str] | None = None,
    disagreement: float = DEFAULT_DISAGREEMENT,
    alpha: float = _ALPHA,
    power: float = _POWER,
    family: int = 1,
    min_slice_size: int = 30,
) -> DataPower:
    """What the eval set in ``table`` can detect in accuracy, overall and per slice."""
    for name in slices:
        require_column(path, table, "slices", name)
    if predictions is not None:
        if target is None:
            raise DataError(
                f"{path}: comparing two prediction columns needs the target column. Pass --target"
            )
        for name in predictions:
            require_column(path, table, "predictions", name)
    if target is None:
        # Without a target every row is an example; only the count matters then.
        y = np.full(table.num_rows, True, dtype=object)
    else:
        require_column(path, table, "target", target)
        y = column_values(table, target)
    return mde_from_data(
        y,
        predictions=None
        if predictions is None
        else (column_values(table, predictions[0]), column_values(table, predictions[1])),
        slices={name: column_values(table, name) for name in slices},
        disagreement=disagreement,
        alpha=alpha,
        power=power,
        family=family,
        min_slice_size=min_slice_size,
    )


def _effect(value: float, digits: str = ".3f") -> str:
    if math.isinf(value):
        return "none (too few examples)"
    if math.isnan(value):
        return "n/a"
    return format(value, digits)


def _assumption(power: DataPower, predictions: tuple[str, str] | None) -> str:
    if predictions is None:
        return f"assuming {power.disagreement:.0%} disagreement"
    a, b = predictions
    return f"exactly one of {a} and {b} is right on {power.disagreement:.1%} of examples"


def print_power(
    console: Console, power: DataPower, *, predictions: tuple[str, str] | None = None
) -> None:
    """The line "this eval set can detect ...", and a table per slice when there are slices."""
    o = power.overall
    why = _assumption(power, predictions)
    if math.isinf(o.effect):
        body = f"this eval set is too small to detect any difference of accuracy at {o.power:.0%} power ({why})"
    else:
        body = (
            f"this eval set can detect a difference of accuracy of {o.effect:.3f} "
            f"at {o.power:.0%} power ({why})"
        )
    dropped = (
        f"; {power.missing_target:,} rows without a target left out" if power.missing_target else ""
    )
    console.print(
        Text.assemble(
            ("power: ", "bold"), body, f" — {o.n:,} examples, alpha {o.alpha:.3g}{dropped}"
        ),
        soft_wrap=True,
    )
    if power.observed_delta is not None and predictions is not None:
        console.print(
            Text(
                f"observed: accuracy of {predictions[0]} − {predictions[1]} = {power.observed_delta:+.3f}"
            ),
            soft_wrap=True,
        )
    if not power.slices:
        return
    m = power.slice_family
    title = "detectable difference of accuracy per slice"
    if m > 1:
        title += f" (alpha corrected across {m} slices)"
    observed = power.source == "observed"
    table = Table(title=title, header_style="bold", title_justify="left")
    for col in ("slice", "value", "examples", "detectable"):
        table.add_column(col, justify="right" if col in ("examples", "detectable") else "left")
    if observed:
        table.add_column("disagreement", justify="right")
    table.add_column("alpha")
    for s in power.slices:
        rate = [f"{s.disagreement:.1%}"] if observed else []
        note = " (small: uncorrected)" if s.small else ""
        table.add_row(
            s.column,
            s.value,
            f"{s.mde.n:,}",
            _effect(s.mde.effect),
            *rate,
            f"{s.mde.alpha:.3g}{note}",
        )
    console.print(table)


class _Outputs:
    """Files written to temporary names beside their targets, renamed only when all are
    written: a failure leaves nothing behind, and a reader never sees half a file."""

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []

    def stage(self, path: Path, write: Callable[[Path], None], *, what: str) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HeldoutError(
                f"{path}: cannot write {what} ({exc.strerror}). Pass a file path you can write to"
            ) from exc
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        self._staged.append((tmp, path))
        try:
            write(tmp)
        except OSError as exc:
            raise HeldoutError(
                f"{path}: cannot write {what} ({exc.strerror}). Pass a file path you can write to"
            ) from exc
        except HeldoutError as exc:
            cause = exc.__cause__
            reason = f" ({cause.strerror})" if isinstance(cause, OSError) else ""
            raise HeldoutError(
                f"{path}: cannot write {what}{reason}. Pass a file path you can write to"
            ) from exc

    def commit(self) -> None:
        for tmp, path in self._staged:
            os.replace(tmp, path)
        self._staged.clear()

    def discard(self) -> None:
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        self._staged.clear()


@contextmanager
def _outputs() -> Iterator[_Outputs]:
    out = _Outputs()
    try:
        yield out
        out.commit()
    finally:
        out.discard()


def _json(outputs: _Outputs, document: Any, path: Path | None) -> None:
    if path is not None:
        outputs.stage(
            path, lambda tmp: write_document(document, tmp, what="the JSON"), what="the JSON"
        )


def _slice_names(values: list[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(n.strip() for v in values for n in v.split(",") if n.strip())


@app.command()
def plan(
    delta: Annotated[
        float | None,
        typer.Option(
            "--delta",
            help="Difference to detect: of accuracy (0.03 = 3 points), or of mean score with --sd",
        ),
    ] = None,
    disagreement: Annotated[
        float | None,
        typer.Option(
            "--disagreement",
            help="Share of examples on which the two models disagree, 0/1 scores "
            f"(with --n or --data: the assumed rate, default {DEFAULT_DISAGREEMENT})",
        ),
    ] = None,
    sd: Annotated[
        float | None,
        typer.Option("--sd", help="Standard deviation of the per-example score differences"),
    ] = None,
    n: Annotated[
        int | None, typer.Option("--n", help="Eval set size: print what it can detect")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Eval set: print what it can detect, overall and per slice"),
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option("--spec", help="eval.yaml whose task reads --data (columns, slices, stats)"),
    ] = None,
    slices: Annotated[
        list[str] | None,
        typer.Option("--slices", help="Slice column of --data (repeatable or comma-separated)"),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="Target column of --data (default: target if present)"),
    ] = None,
    predictions: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--predictions",
            metavar="A B",
            help="Two prediction columns of --data: use their observed disagreement",
        ),
    ] = None,
    alpha: Annotated[
        float | None, typer.Option("--alpha", help="Two-sided significance level (0.05)")
    ] = None,
    power: Annotated[float | None, typer.Option("--power", help="Power (0.8)")] = None,
    family: Annotated[
        int, typer.Option("--family", help="Tests corrected together: each at alpha / family")
    ] = 1,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the plan as JSON here")
    ] = None,
) -> None:
    """How many examples a paired comparison needs (--delta), or what an eval set can detect
    (--n, --data)."""
    console = _out()
    with _user_errors():
        asked = [
            name for name, v in (("--delta", delta), ("--n", n), ("--data", data)) if v is not None
        ]
        if len(asked) != 1:
            raise HeldoutError(
                ("pass only one of " + ", ".join(asked) if asked else "say what to plan")
                + ": --delta D with --disagreement R or --sd S (examples needed), "
                "--n N (what N examples detect) or --data FILE (what an eval set detects)"
            )
        if data is None:
            for flag, value in (
                ("--spec", spec),
                ("--slices", slices),
                ("--target", target),
                ("--predictions", predictions),
            ):
                if value is not None:
                    raise HeldoutError(f"{flag} describes an eval set: pass it with --data FILE")
        if disagreement is not None and sd is not None:
            raise HeldoutError(
                "pass --disagreement for 0/1 scores (accuracy) or --sd for continuous scores, not both"
            )
        if data is not None:
            _plan_data(
                console,
                data,
                spec=spec,
                slices=_slice_names(slices),
                target=target,
                predictions=predictions,
                disagreement=disagreement,
                sd=sd,
                alpha=alpha,
                power=power,
                family=family,
                json_path=json_path,
            )
            return
        a = _ALPHA if alpha is None else alpha
        p = _POWER if power is None else power
        if delta is not None:
            document = _plan_size(
                console, delta, disagreement=disagreement, sd=sd, alpha=a, power=p, family=family
            )
        else:
            assert n is not None
            document = _plan_detectable(
                console, n, disagreement=disagreement, sd=sd, alpha=a, power=p, family=family
            )
        with _outputs() as outputs:
            _json(outputs, document, json_path)
        if json_path is not None:
            console.print(Text.assemble(("json: ", "bold"), str(json_path)))


def _plan_detectable(
    console: Console,
    n: int,
    *,
    disagreement: float | None,
    sd: float | None,
    alpha: float,
    power: float,
    family: int,
) -> dict[str, Any]:
    rate = DEFAULT_DISAGREEMENT if disagreement is None and sd is None else disagreement
    mde = mde_for_n(n, disagreement=rate, sd_diff=sd, alpha=alpha, power=power, family=family)
    what = "accuracy" if sd is None else "mean score"
    console.print(
        Text.assemble(
            ("detectable: ", "bold"),
            f"{n:,} paired examples can detect a difference of {what} of "
            f"{_effect(mde.effect, '.4g')} at {power:.0%} power",
        ),
        soft_wrap=True,
    )
    console.print(Text(f"  {mde.basis}; alpha {mde.alpha:.3g} per test, two-sided"), soft_wrap=True)
    return {
        "question": "detectable-effect",
        "kind": "paired-proportion" if sd is None else "paired-mean",
        "family": family,
        **mde.to_dict(),
        "disagreement": rate,
        "sd_diff": sd,
    }


def _plan_size(
    console: Console,
    delta: float,
    *,
    disagreement: float | None,
    sd: float | None,
    alpha: float,
    power: float,
    family: int,
) -> dict[str, Any]:
    per_test = f"alpha {alpha:g}" + (f" / {family} tests" if family > 1 else "")
    if sd is not None:
        size = paired_mean_n(delta, sd_diff=sd, alpha=alpha, power=power, family=family)
        console.print(Text.assemble(("examples needed: ", "bold"), f"{size:,}"))
        console.print(
            Text(
                f"  to detect a difference of mean score of {abs(delta):g} with the paired t-test "
                f"(two-sided, {per_test}, power {power:.0%}) when the per-example differences "
                f"have sd {sd:g}; noncentral t"
            ),
            soft_wrap=True,
        )
        return {
            "question": "sample-size",
            "kind": "paired-mean",
            "n": size,
            "delta": abs(delta),
            "sd_diff": sd,
            "alpha": alpha,
            "alpha_per_test": alpha / family,
            "power": power,
            "family": family,
            "method": "paired t-test, noncentral t",
        }
    if disagreement is None:
        raise HeldoutError(
            "--delta needs --disagreement R (share of examples the models disagree on, 0/1 "
            "scores such as accuracy) or --sd S (continuous scores)"
        )
    size = paired_proportion_n(
        delta, disagreement=disagreement, alpha=alpha, power=power, family=family
    )
    plain = paired_proportion_n(
        delta, disagreement=disagreement, alpha=alpha, power=power, family=family, continuity=False
    )
    console.print(Text.assemble(("examples needed: ", "bold"), f"{size:,}"))
    console.print(
        Text(
            f"  to detect a difference of accuracy of {abs(delta):g} with McNemar's test "
            f"(two-sided, {per_test}, power {power:.0%}) when the models disagree on "
            f"{disagreement:.0%} of examples; Connor (1987), continuity corrected "
            f"({plain:,} without the correction)"
        ),
        soft_wrap=True,
    )
    return {
        "question": "sample-size",
        "kind": "paired-proportion",
        "n": size,
        "n_without_continuity_correction": plain,
        "delta": abs(delta),
        "disagreement": disagreement,
        "alpha": alpha,
        "alpha_per_test": alpha / family,
        "power": power,
        "family": family,
        "method": "McNemar, Connor (1987), continuity corrected",
    }


def _plan_data(
    console: Console,
    data: Path,
    *,
    spec: Path | None,
    slices: tuple[str, ...] | None,
    target: str | None,
    predictions: tuple[str, str] | None,
    disagreement: float | None,
    sd: float | None,
    alpha: float | None,
    power: float | None,
    family: int,
    json_path: Path | None,
) -> None:
    if sd is not None:
        raise HeldoutError(
            "with --data the difference is in accuracy (0/1 scores); for continuous scores "
            "use --n N --sd S"
        )
    if predictions is not None and disagreement is not None:
        raise HeldoutError(
            "--predictions gives the observed disagreement; leave out --disagreement"
        )
    fmt = None
    min_slice_size = 30
    if spec is not None:
        from heldout.cli._check import _task_for
        from heldout.spec import load_spec

        task = _task_for(spec, data)
        stats = load_spec(spec).spec.stats
        fmt = task.dataset.format
        target = target or task.dataset.target
        slices = task.dataset.slices if slices is None else slices
        alpha = 1.0 - stats.confidence if alpha is None else alpha
        power = stats.power if power is None else power
        min_slice_size = stats.min_slice_size
    table = read_table(data, fmt=fmt, what="dataset")
    if target is None and "target" in table.column_names:
        target = "target"
    result = data_power(
        table,
        path=data,
        target=target,
        slices=slices or (),
        predictions=predictions,
        disagreement=DEFAULT_DISAGREEMENT if disagreement is None else disagreement,
        alpha=_ALPHA if alpha is None else alpha,
        power=_POWER if power is None else power,
        family=family,
        min_slice_size=min_slice_size,
    )
    with _outputs() as outputs:
        _json(
            outputs,
            {
                "question": "detectable-effect",
                "data": str(data),
                "target": target,
                "predictions": list(predictions) if predictions else None,
                **result.to_dict(),
            },
            json_path,
        )
    console.print(
        Text.assemble(("data: ", "bold"), f"{data}: {table.num_rows:,} rows"), soft_wrap=True
    )
    print_power(console, result, predictions=predictions)
    if json_path is not None:
        console.print(Text.assemble(("json: ", "bold"), str(json_path)))


def _write_sample(
    tmp: Path,
    *,
    data: Path,
    fmt: FileFormat,
    table: pa.Table,
    drawn: StratifiedSample,
    weight_column: str,
) -> None:
    """The sampled rows as DATA wrote them, with the weight added.

    JSONL and CSV records are copied from the file itself, so values keep their spelling
    (a timestamp stays the text it was); Parquet, typed already, goes through Arrow.
    """
    weights = {int(r): float(w) for r, w in zip(drawn.rows, drawn.weights, strict=True)}
    if fmt == "jsonl":
        with data.open(encoding="utf-8-sig") as fh:
            lines = [line for line in fh if line.strip()]
        if len(lines) == table.num_rows:
            with tmp.open("w", encoding="utf-8") as out:
                for i, w in weights.items():
                    record = json.loads(lines[i])
                    record[weight_column] = w
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
            return
    elif fmt == "csv":
        with data.open(encoding="utf-8-sig", newline="") as fh:
            records = [row for row in csv.reader(fh) if row]
        if len(records) == table.num_rows + 1:
            with tmp.open("w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow([*records[0], weight_column])
                for i, w in weights.items():
                    writer.writerow([*records[i + 1], repr(w)])
            return
    write_table(drawn.table(table, weight_column=weight_column), tmp, fmt)


@app.command()
def sample(
    data: Annotated[Path, typer.Argument(help="The eval set to sample (.jsonl, .csv, .parquet)")],
    n: Annotated[int, typer.Option("--n", help="Rows to draw")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the sample (DATA's format)")
    ],
    stratify: Annotated[
        str | None,
        typer.Option(
            "--stratify", help="Class column to stratify by (default: simple random sample)"
        ),
    ] = None,
    min_per_class: Annotated[
        int,
        typer.Option(
            "--min-per-class", help="Rows each class keeps at least (all, if it has fewer)"
        ),
    ] = 1,
    allocation: Annotated[
        str,
        typer.Option("--allocation", help="proportional, or neyman (with --neyman-column)"),
    ] = "proportional",
    neyman_column: Annotated[
        str | None,
        typer.Option(
            "--neyman-column",
            help="Numeric score whose spread per class Neyman allocation follows "
            "(e.g. a baseline's 0/1 correctness)",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the draw")] = 0,
    weight_column: Annotated[
        str, typer.Option("--weight-column", help="Name of the added weight column")
    ] = "weight",
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the per-class counts as JSON here")
    ] = None,
) -> None:
    """Draw a smaller eval set that keeps rare classes, with weights (N_h / n_h) under which
    its metrics estimate those of the whole set."""
    console = _out()
    with _user_errors():
        if allocation not in ("proportional", "neyman"):
            raise HeldoutError(f"--allocation: expected proportional or neyman, got {allocation!r}")
        fmt = detect_format(data)
        if output.suffix and detect_format(output) != fmt:
            raise DataError(
                f"{output}: the sample is written as {fmt}, like {data}. Give the output a .{fmt} suffix"
            )
        if output.exists() and data.exists() and output.resolve() == data.resolve():
            raise HeldoutError(f"{output}: is DATA itself; write the sample to another file")
        table = read_table(data, fmt=fmt, what="dataset")
        if weight_column in table.column_names:
            raise DataError(
                f'{data}: already has a column "{weight_column}". Name the weights with '
                "--weight-column NAME"
            )
        drawn = stratified_sample(
            table,
            n=n,
            stratify=stratify,
            min_per_class=min_per_class,
            seed=seed,
            allocation="neyman" if allocation == "neyman" else "proportional",
            sd_column=neyman_column,
            path=data,
            fmt=fmt,
        )
        with _outputs() as outputs:
            outputs.stage(
                output,
                lambda tmp: _write_sample(
                    tmp, data=data, fmt=fmt, table=table, drawn=drawn, weight_column=weight_column
                ),
                what="the sample",
            )
            _json(
                outputs,
                {
                    "data": str(data),
                    "output": str(output),
                    "weight_column": weight_column,
                    **drawn.to_dict(),
                },
                json_path,
            )
    by = f"stratified by {stratify}" if stratify else "simple random sample"
    console.print(
        Text.assemble(
            ("sample: ", "bold"),
            f"{drawn.n:,} of {drawn.population:,} rows of {data}, {by} "
            f"({drawn.allocation}, at least {min_per_class} per class, seed {seed})",
        ),
        soft_wrap=True,
    )
    counts = Table(header_style="bold")
    for col in ("class", "population", "sample", "weight"):
        counts.add_column(col, justify="left" if col == "class" else "right")
    for s in drawn.strata:
        counts.add_row(s.value, f"{s.population:,}", f"{s.sample:,}", f"{s.weight:.4g}")
    console.print(counts)
    console.print(
        Text.assemble(
            ("wrote ", "bold"),
            str(output),
            f' (weights in column "{weight_column}"; they sum to {drawn.population:,})',
        ),
        soft_wrap=True,
    )
    if json_path is not None:
        console.print(Text.assemble(("json: ", "bold"), str(json_path)))
