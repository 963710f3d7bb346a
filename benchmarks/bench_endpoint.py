"""Endpoint benchmark: evaluation tools against one local OpenAI-compatible server.

1,000 generation prompts go to a server (``endpoint_server.py``, started here on a free
port) that answers each request after 50 ms; every tool may keep 64 requests in flight,
so the ideal is 1000 x 0.05 / 64 = 0.78 s. For each tool, 3 repetitions, interleaved
(one of each tool per round), this records:

- wall: the whole process, start-up included, as a subprocess;
- span: measured at the server, from the first request's arrival to the last answer;
- requests: how many requests the server received.

Tools:

- heldout: ``heldout run eval.yaml --no-report --fresh --store sqlite:///...`` on the
  completions endpoint (and the chat endpoint, as its own row), then one rerun without
  ``--fresh`` on the same store, which must send no request;
- lm-evaluation-harness: ``lm_eval --model local-completions`` with ``num_concurrent=64`` on
  a ``generate_until`` task written here over the same prompts;
- inspect-ai: ``inspect eval task.py --model openai-api/bench/bench-model
  --max-connections 64`` on a task written here over the same prompts;
- a bare aiohttp loop (the floor): asyncio and aiohttp with a semaphore of 64, posting
  every prompt to the completions endpoint, as a whole process.

A tool that is not installed, or that fails, gets its reason printed in the table; the rest
still run. lm-eval and inspect-ai come with ``pip install -e ".[bench]"``; their command-line
programs are looked for beside this Python, then in ``.venv-bench/bin``.

Usage: python benchmarks/bench_endpoint.py [--prompts 1000] [--reps 3] [--concurrency 64]
       [--latency 0.05] [--tools heldout,heldout-chat,lm-eval,inspect,bare] [--keep]
       [--json PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SERVER = HERE / "endpoint_server.py"
MODEL = "bench-model"
ANSWER = "42"  # what the server says to every prompt
TOOLS = ("heldout", "heldout-chat", "lm-eval", "inspect", "bare")
LABELS = {
    "heldout": "heldout (completions)",
    "heldout-chat": "heldout (chat)",
    "lm-eval": "lm-evaluation-harness",
    "inspect": "inspect-ai",
    "bare": "bare aiohttp loop",
}
RUN_TIMEOUT_S = 600.0


# -- the prompts ---------------------------------------------------------------------------


def write_prompts(root: Path, n: int) -> Path:
    """A generation task: one question per line; every other target is the server's answer."""
    path = root / "prompts.jsonl"
    with path.open("w") as f:
        for i in range(n):
            a, b = (i * 7919) % 97, (i * 104729) % 89
            target = ANSWER if i % 2 == 0 else str(a + b)
            row = {
                "id": f"q{i:05d}",
                "input": f"Question {i}: what is {a} plus {b}?",
                "target": target,
            }
            f.write(json.dumps(row) + "\n")
    return path


# -- the server ----------------------------------------------------------------------------


class Server:
    """``endpoint_server.py`` in a subprocess, on a free port."""

    def __init__(self, latency: float) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(SERVER),
                "--port",
                "0",
                "--latency",
                str(latency),
                "--text",
                ANSWER,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"the endpoint server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.root = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.root}/v1"

    def _call(self, method: str, path: str) -> dict[str, Any]:
        request = urllib.request.Request(
            self.root + path, method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            result: dict[str, Any] = json.loads(answer.read())
            return result

    def reset(self) -> None:
        self._call("POST", "/reset")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- the tools -----------------------------------------------------------------------------


@dataclass
class Command:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    before: Callable[[], None] | None = None  # run untimed before each repetition


@dataclass
class Result:
    tool: str
    walls: list[float] = field(default_factory=list)
    spans: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    in_flight: list[int] = field(default_factory=list)
    reason: str | None = None  # why it did not run, or why it failed
    note: str = ""


def find_program(name: str) -> str | None:
    """A console script beside this Python, then in .venv-bench, then on PATH."""
    for folder in (Path(sys.executable).parent, ROOT / ".venv-bench" / "bin"):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def heldout_command(root: Path, data: Path, server: Server, conc: int, endpoint: str) -> Command:
    program = find_program("heldout")
    argv = [program] if program else [sys.executable, "-m", "heldout.cli"]
    folder = root / f"heldout-{endpoint}"
    folder.mkdir()
    spec = folder / "eval.yaml"
    model = {
        "backend": "openai",
        "model": MODEL,
        "base_url": server.base_url,
        "endpoint": endpoint,
        "concurrency": conc,
        "max_retries": 3,
        "sampling": {"temperature": 0.0, "max_tokens": 16},
    }
    spec.write_text(
        "name: bench-endpoint\n"
        f"models:\n  bench: {json.dumps(model)}\n"
        f"dataset: {json.dumps({'path': str(data), 'id': 'id', 'input': 'input', 'target': 'target'})}\n"
        "task: {type: generation, prompt: {template: '{{ input }}', chat: %s}}\n"
        "metrics: [exact_match]\n" % ("true" if endpoint == "chat" else "false")
    )
    store = folder / "runs.db"
    argv += ["run", str(spec), "--no-report", "--fresh", "--store", f"sqlite:///{store}"]
    return Command(argv, cwd=folder)


def lm_eval_command(root: Path, data: Path, server: Server, conc: int) -> Command | str:
    program = find_program("lm_eval") or find_program("lm-eval")
    if program is None:
        return 'not installed (pip install -e ".[bench]")'
    tasks = root / "lm_eval_tasks"
    tasks.mkdir()
    (tasks / "heldout_bench.yaml").write_text(
        "task: heldout_bench\n"
        "dataset_path: json\n"
        "dataset_kwargs:\n"
        f"  data_files:\n    test: {json.dumps(str(data))}\n"
        "test_split: test\n"
        "output_type: generate_until\n"
        'doc_to_text: "{{input}}"\n'
        'doc_to_target: "{{target}}"\n'
        "generation_kwargs:\n"
        '  until: ["\\n"]\n'
        "  max_gen_toks: 16\n"
        "  do_sample: false\n"
        "  temperature: 0.0\n"
        "metric_list:\n"
        "  - metric: exact_match\n"
        "    aggregation: mean\n"
        "    higher_is_better: true\n"
    )
    model_args = ",".join(
        [
            f"model={MODEL}",
            f"base_url={server.base_url}/completions",
            f"num_concurrent={conc}",
            "max_retries=3",
            "tokenized_requests=False",
            "tokenizer_backend=None",
        ]
    )
    argv = [
        program,
        "run",
        "--model",
        "local-completions",
        "--model_args",
        model_args,
        "--tasks",
        "heldout_bench",
        "--include_path",
        str(tasks),
        "--output_path",
        str(root / "lm_eval_out"),
    ]
    # datasets' json loader runs offline; its cache lives in the temp folder
    env = {"HF_HOME": str(root / "hf"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return Command(argv, env=env, cwd=root)


INSPECT_TASK = """\
from inspect_ai import Task, task
from inspect_ai.dataset import FieldSpec, json_dataset
from inspect_ai.scorer import match
from inspect_ai.solver import generate


@task
def heldout_bench():
    dataset = json_dataset(
        {data!r}, FieldSpec(input="input", target="target", id="id")
    )
    return Task(dataset=dataset, solver=generate(), scorer=match())
"""


def inspect_command(root: Path, data: Path, server: Server, conc: int) -> Command | str:
    program = find_program("inspect")
    if program is None:
        return 'not installed (pip install -e ".[bench]")'
    folder = root / "inspect"
    folder.mkdir()
    task_file = folder / "task.py"
    task_file.write_text(INSPECT_TASK.format(data=str(data)))
    argv = [
        program,
        "eval",
        task_file.name,  # inspect wants the task file relative to the working folder
        "--model",
        f"openai-api/bench/{MODEL}",
        "--max-connections",
        str(conc),
        "--max-tokens",
        "16",
        "--temperature",
        "0",
        "--log-dir",
        str(folder / "logs"),
        "--display",
        "plain",
    ]
    env = {
        "BENCH_API_KEY": "unused",
        "BENCH_BASE_URL": server.base_url,
        "INSPECT_LOG_DIR": str(folder / "logs"),
        "INSPECT_DISPLAY": "plain",
    }
    return Command(argv, env=env, cwd=folder)


def bare_command(data: Path, server: Server, conc: int) -> Command:
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--bare-client",
        server.base_url,
        str(data),
    ]
    return Command([*argv, "--concurrency", str(conc)])


def bare_client(base_url: str, data: Path, conc: int) -> int:
    """The floor: every prompt to /completions, at most ``conc`` in flight, nothing else."""
    import asyncio

    import aiohttp

    prompts = [json.loads(line)["input"] for line in data.read_text().splitlines() if line]

    async def main() -> int:
        semaphore = asyncio.Semaphore(conc)
        connector = aiohttp.TCPConnector(limit=conc)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(prompt: str) -> str:
                body = {"model": MODEL, "prompt": prompt, "max_tokens": 16, "temperature": 0.0}
                async with semaphore, session.post(f"{base_url}/completions", json=body) as answer:
                    answer.raise_for_status()
                    text: str = (await answer.json())["choices"][0]["text"]
                    return text

            texts = await asyncio.gather(*(one(p) for p in prompts))
        return len(texts)

    done = asyncio.run(main())
    print(f"{done} answers")
    return 0


# -- running -------------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    """This environment, as a user's shell would have it: bytecode is cached as usual."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}


def compile_heldout() -> None:
    """Byte-compile heldout's sources, as pip does for the installed peers."""
    spec = importlib.util.find_spec("heldout")
    if spec is None or not spec.submodule_search_locations:
        return
    for folder in spec.submodule_search_locations:
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", folder],
            env=child_env(),
            stdout=subprocess.DEVNULL,
            check=False,
        )


def run_once(command: Command, server: Server, log: Path) -> tuple[float, dict[str, Any], int]:
    if command.before is not None:
        command.before()
    server.reset()
    env = {**child_env(), **command.env}
    with log.open("w") as out:
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                command.argv,
                cwd=command.cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=RUN_TIMEOUT_S,
            )
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            rc = -9
        wall = time.perf_counter() - start
    return wall, server.stats(), rc


def tail(log: Path, lines: int = 3) -> str:
    text = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return " | ".join(text[-lines:])[-300:]


def paths(stats: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(stats["by_path"].items())) or "none"


def fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def print_table(results: list[Result], ideal: float, rerun: dict[str, Any] | None) -> None:
    main = next((r for r in results if r.tool == "heldout" and r.walls), None)
    held_wall = statistics.median(main.walls) if main else None
    rows = [("tool", "median wall s (all runs)", "median span s", "requests", "heldout / tool")]
    notes = []
    for r in results:
        if r.reason:
            notes.append(f"{LABELS[r.tool]}: {r.reason}")
        if r.note:
            notes.append(f"{LABELS[r.tool]}: {r.note}")
        if not r.walls:
            rows.append((LABELS[r.tool], "did not run (see below)", "", "", ""))
            continue
        wall = statistics.median(r.walls)
        span = statistics.median(r.spans)
        ratio = f"{held_wall / wall:.3f}" if held_wall is not None else ""
        requests = "/".join(str(n) for n in sorted(set(r.requests)))
        rows.append(
            (
                LABELS[r.tool],
                f"{wall:.2f} ({fmt(r.walls)})",
                f"{span:.3f} ({span / ideal:.2f}x ideal)",
                requests,
                ratio,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for k, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print(f"ideal span: {ideal:.3f} s (prompts x latency / concurrency)")
    if rerun is not None:
        print(
            f"heldout rerun without --fresh on the same store: {rerun['requests']} requests, "
            f"{rerun['wall']:.2f} s whole process"
        )
    for note in notes:
        print(note)


def targets(results: list[Result], ideal: float, rerun: dict[str, Any] | None) -> list[str]:
    by = {r.tool: r for r in results if r.walls and not r.reason}
    lines = []
    held = by.get("heldout")
    if held is None:
        return ["heldout did not run: no target can be checked"]
    wall = statistics.median(held.walls)
    for tool, limit in (("lm-eval", 0.2), ("inspect", 0.1)):
        if tool in by:
            ratio = wall / statistics.median(by[tool].walls)
            verdict = "met" if ratio <= limit else "MISSED"
            lines.append(f"wall <= {limit}x {LABELS[tool]}: {ratio:.3f} ({verdict})")
        else:
            lines.append(f"wall <= {limit}x {LABELS[tool]}: not measured")
    span = statistics.median(held.spans)
    verdict = "met" if span <= 1.15 * ideal else "MISSED"
    lines.append(f"span <= 1.15x ideal: {span / ideal:.2f}x ({verdict})")
    if rerun is not None:
        verdict = "met" if rerun["requests"] == 0 else "MISSED"
        lines.append(f"rerun sends 0 requests: {rerun['requests']} ({verdict})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument(
        "--tools", default=",".join(TOOLS), help="comma-separated, of: " + ", ".join(TOOLS)
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs, specs)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--bare-client", nargs=2, metavar=("BASE_URL", "DATA"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.bare_client:
        return bare_client(args.bare_client[0], Path(args.bare_client[1]), args.concurrency)

    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = sorted(set(tools) - set(TOOLS))
    if unknown:
        parser.error(f"unknown tools: {', '.join(unknown)}")
    ideal = args.prompts * args.latency / args.concurrency
    root = Path(tempfile.mkdtemp(prefix="heldout-bench-endpoint-"))
    print(
        f"{args.prompts} prompts, {args.latency * 1000:g} ms per answer, concurrency {args.concurrency}, "
        f"{args.reps} repetitions; ideal span {ideal:.3f} s; work folder {root}",
        flush=True,
    )
    data = write_prompts(root, args.prompts)
    if any(t.startswith("heldout") for t in tools):
        compile_heldout()
    server = Server(args.latency)
    results: dict[str, Result] = {t: Result(t) for t in tools}
    commands: dict[str, Command] = {}
    rerun: dict[str, Any] | None = None
    try:
        for tool in tools:
            made: Command | str
            if tool == "heldout":
                made = heldout_command(root, data, server, args.concurrency, "completions")
            elif tool == "heldout-chat":
                made = heldout_command(root, data, server, args.concurrency, "chat")
            elif tool == "lm-eval":
                made = lm_eval_command(root, data, server, args.concurrency)
            elif tool == "inspect":
                made = inspect_command(root, data, server, args.concurrency)
            else:
                made = bare_command(data, server, args.concurrency)
            if isinstance(made, str):
                results[tool].reason = made
            else:
                commands[tool] = made

        for rep in range(1, args.reps + 1):
            for tool, command in commands.items():
                result = results[tool]
                log = root / f"{tool}-{rep}.log"
                wall, stats, rc = run_once(command, server, log)
                print(
                    f"round {rep}  {LABELS[tool]:<24} {wall:7.2f} s  span {stats['span_s']:.3f} s  "
                    f"{stats['requests']} requests (max {stats['max_in_flight']} in flight, "
                    f"{paths(stats)})  rc {rc}",
                    flush=True,
                )
                if rc != 0:
                    result.reason = f"exit {rc} in round {rep}: {tail(log)}"
                    continue
                result.walls.append(wall)
                result.spans.append(stats["span_s"])
                result.requests.append(stats["requests"])
                result.in_flight.append(stats["max_in_flight"])
                if stats["requests"] < args.prompts:
                    result.note = f"sent {stats['requests']} requests for {args.prompts} prompts"

        if "heldout" in commands and results["heldout"].walls:
            command = commands["heldout"]
            again = Command([a for a in command.argv if a != "--fresh"], command.env, command.cwd)
            wall, stats, rc = run_once(again, server, root / "heldout-rerun.log")
            rerun = {"wall": wall, "requests": stats["requests"], "rc": rc}
            print(
                f"rerun    {LABELS['heldout']:<24} {wall:7.2f} s  {stats['requests']} requests  rc {rc}"
            )
    finally:
        server.close()

    print()
    ordered = [results[t] for t in tools]
    print_table(ordered, ideal, rerun)
    print()
    for line in targets(ordered, ideal, rerun):
        print(line)
    if args.json:
        payload = {
            "prompts": args.prompts,
            "latency_s": args.latency,
            "concurrency": args.concurrency,
            "ideal_s": ideal,
            "results": [r.__dict__ for r in ordered],
            "rerun": rerun,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    if args.keep:
        print(f"work folder kept: {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    failed_rerun = rerun is not None and (rerun["requests"] != 0 or rerun["rc"] != 0)
    if failed_rerun:
        print("the heldout rerun sent requests (or failed): the journal was not used")
    return 1 if failed_rerun else 0


if __name__ == "__main__":
    sys.exit(main())
