"""Local-model benchmark: heldout against lm-evaluation-harness on one small GPT-2.

A GPT-2-style model (6 layers, 384 hidden, 6 heads, 512 positions, a 32,000-token
byte-level BPE vocabulary; about 23M parameters, seeded random weights) and its tokenizer
are built here, once, into a cache folder (``benchmarks/.cache/``): the tokenizer is trained
with ``tokenizers`` on an English-like corpus generated from template sentences over a word
list. Nothing is downloaded.

500 four-choice items (one or two sentences and a question, about 37 tokens; four options
of 1 to 12 words, about 6 tokens; seeded, ASCII, so characters are bytes for acc_norm) are
scored by log-likelihood, each option as context + " " + option, in float32 on the CPU:

- lm-evaluation-harness: ``lm_eval run --model hf --model_args pretrained=DIR,dtype=float32
  --device cpu --batch_size B --log_samples`` on a ``multiple_choice`` task written here over
  the same JSONL file (acc, acc_norm);
- heldout: ``heldout run eval.yaml --no-report --fresh --store sqlite:///...`` with the model
  ``{backend: hf, path: DIR, batch_size: B, device: cpu, dtype: float32}`` (accuracy,
  accuracy_norm).

Every configuration runs once per round, interleaved, as a whole process (start-up
included), for 3 rounds; the median wall gives items/s. Both tools get the same torch thread
count (``--threads``, 1 by default: on a small shared machine a second thread mostly waits
for a busy core; 0 leaves torch's default). lm-eval runs once, untimed, on 2 items first, so
that every timed run finds the JSON file in datasets' cache. The targets:

- heldout's best items/s >= 2x lm-evaluation-harness's best items/s;
- the same accuracy and normalised accuracy;
- every per-choice log-likelihood (heldout's journal against lm-eval's ``--log_samples``,
  matched by question and option) within 1e-4.

Usage: python benchmarks/bench_local.py [--items 500] [--rounds 3] [--lm-eval-batches 1,16]
       [--heldout-batches 16,32,64] [--threads 1] [--cache DIR] [--rebuild] [--keep]
       [--json PATH]
A quick run: --items 100 --rounds 1.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache" / "bench_local"
BUILD_VERSION = "1"  # bump when the corpus, tokenizer or model recipe changes
RUN_TIMEOUT_S = 900.0
TOLERANCE = 1e-4
SPEED_TARGET = 2.0

VOCAB = 32_000
LAYERS, HIDDEN, HEADS, POSITIONS = 6, 384, 6, 512
MODEL_SEED, CORPUS_SEED, ITEM_SEED = 0, 1, 2
CORPUS_SENTENCES = 120_000
SYNTHETIC_WORDS = 24_000

BOS, EOS, PAD, UNK = "<|bos|>", "<|eos|>", "<|pad|>", "<|unk|>"


# -- the corpus ----------------------------------------------------------------------------


def wordlist(text: str) -> list[str]:
    return text.split()


NOUNS = wordlist("""
time year people way day man woman child world life hand part place case week company
system program question work government number night point home water room mother area
money story fact month lot right study book eye job word business issue side kind head
house service friend father power hour game line end member law car city community name
president team minute idea kid body information back parent face others level office door
health person art war history party result change morning reason research girl guy moment
air teacher force education foot boy age policy music market sense nation plan college
interest death experience effect use class control care field development role effort rate
heart drug show leader light voice wife police mind price report decision son view
relationship town road arm difference value building action model season society tax
director position player record paper space ground form event official matter center
couple site project activity star table need court oil situation cost industry figure
street image phone data picture practice piece land product doctor wall patient worker news
test movie north love support technology step baby computer type attention film tree source
organization hair window evidence population site river bridge garden kitchen lamp boat
train ship horse bird dog cat fish apple bread cheese letter song engine island mountain
forest valley village farm market castle tower harbor lake storm cloud winter summer
""")

ADJECTIVES = wordlist("""
good new first last long great little own other old right big high different small large
next early young important few public bad same able late hard major better economic strong
possible whole free military true federal international full special easy clear recent
certain personal open red difficult available likely short single medical current wrong
private past foreign fine common poor natural significant similar hot dead central happy
serious ready simple left physical general environmental financial blue democratic dark
various entire close legal religious cold final main green nice huge popular traditional
cultural quiet bright heavy narrow wide gentle brave careful silent ancient golden wooden
""")

VERBS = wordlist("""
asked built called carried changed closed counted covered crossed decided described
designed discovered dropped earned entered explained filled finished followed found gave
grew helped held joined kept knew learned left lifted liked lived made mapped measured met
moved named noticed opened ordered painted passed picked placed planned played pulled pushed
reached read received remembered repaired returned saw sold sent shared showed signed sold
started stopped studied taught told took touched traded turned used visited walked wanted
washed watched wrote
""")

ADVERBS = wordlist("""
quickly slowly carefully quietly early late often rarely always never soon together again
almost nearly finally suddenly gently easily badly happily openly simply clearly
""")

TIMES = wordlist("""
Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May
June July August September October November December spring summer autumn winter morning
evening night week month year
""")

ONSETS = wordlist("""
b bl br c ch cl cr d dr f fl fr g gl gr h j k l m n p pl pr qu r s sc sh sk sl sm sn sp st
str t th tr v w wh y z
""")
VOWELS = wordlist("a e i o u ai ea ee oa oo ou ie y")
CODAS = ["", "", "", "b", "ck", "d", "ft", "g", "l", "ld", "m", "mp", "n", "nd", "ng", "nt"]
CODAS += ["p", "r", "rd", "rk", "rn", "s", "sh", "st", "t", "th", "x", "ll", "ss"]

TEMPLATES = [
    "The {A} {N} {V} the {N} near the {N} in {P}.",
    "{X} {V} {D} {N}s in {P} last {T}.",
    "On {T}, {X} and {X} {V} a {A} {N} by the {N}.",
    "Why did {X} say that the {N} was so {A}?",
    "In {P}, every {N} {V} a {A} {W} before the {N} {V} {R}.",
    "{X} {R} {V} the {A} {W}, and then the {N} {V} it.",
    "There were {D} {A} {W}s and {D} {N}s at the {N} of {P}.",
    "A {A} {W} from {P} {V} {X}'s {N} on {T}.",
    "Most of the {N}s in {P} are {A}, but the {W} is {A}.",
    "After the {N} {V}, {X} {V} the {W} to {P}.",
    "{X} wrote: the {N} costs {D} coins, the {W} costs {D}.",
    "Nobody in {P} {V} how the {A} {W} {V} the {N}.",
    "The {W} of {P} {V} {R} during the {A} {T}.",
    "When {X} {V} the {N}, the {A} {W} was already gone.",
    "Is the {N} {A} or {A}? {X} {V} it was {A}.",
]

QUESTIONS = [
    "Question: what did {X} do with the {N}?",
    "Question: where is the {A} {W} kept?",
    "Question: which {N} was the most {A} in {P}?",
    "Question: why was the {N} {A} on {T}?",
    "Question: who {V} the {A} {W} in {P}?",
    "Question: how many {N}s did {X} count?",
]


class Words:
    """Seeded word lists and a sentence generator over them (roughly Zipfian choices)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        synthetic: set[str] = set()
        while len(synthetic) < SYNTHETIC_WORDS:
            synthetic.add(
                "".join(
                    rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)
                    for _ in range(rng.choice((1, 2, 2, 3)))
                )
            )
        pool = sorted(synthetic)
        rng.shuffle(pool)
        third = len(pool) // 3
        self.things = pool[:third]  # invented common nouns
        self.names = [w.capitalize() for w in pool[third : 2 * third]]
        self.places = [w.capitalize() for w in pool[2 * third :]]

    def pick(self, words: list[str]) -> str:
        # index ~ exponential of a uniform: a few words are common, most are rare
        i = int(math.exp(self.rng.random() * math.log(len(words) + 1))) - 1
        return words[min(i, len(words) - 1)]

    def fill(self, template: str) -> str:
        out = []
        for i, part in enumerate(template.split("{")):
            if i == 0:
                out.append(part)
                continue
            slot, rest = part.split("}", 1)
            out.append(self.slot(slot) + rest)
        return "".join(out)

    def slot(self, slot: str) -> str:
        rng = self.rng
        if slot == "N":
            return self.pick(NOUNS)
        if slot == "A":
            return self.pick(ADJECTIVES)
        if slot == "V":
            return self.pick(VERBS)
        if slot == "R":
            return self.pick(ADVERBS)
        if slot == "T":
            return rng.choice(TIMES)
        if slot == "D":
            return str(int(math.exp(rng.random() * math.log(10_000))))
        if slot == "W":
            return self.pick(self.things)
        if slot == "X":
            return self.pick(self.names)
        if slot == "P":
            return self.pick(self.places)
        raise ValueError(slot)

    def sentence(self) -> str:
        return self.fill(self.rng.choice(TEMPLATES))

    def phrase(self, words: int) -> str:
        """An option: ``words`` words, taken from a sentence."""
        parts = self.sentence().rstrip(".?").split()
        while len(parts) < words:
            parts += self.sentence().rstrip(".?").split()
        start = self.rng.randrange(len(parts) - words + 1)
        text = " ".join(parts[start : start + words])
        return text + ("." if words > 3 else "")


def corpus(n: int) -> list[str]:
    words = Words(random.Random(CORPUS_SEED))
    lines = []
    for _ in range(n):
        lines.append(" ".join(words.sentence() for _ in range(words.rng.randint(1, 4))))
    # every invented word at least once, with and without a leading space
    pool = words.things + words.names + words.places
    for start in range(0, len(pool), 12):
        lines.append(" ".join(pool[start : start + 12]))
    return lines


# -- the model -----------------------------------------------------------------------------


def build_model(folder: Path) -> dict[str, Any]:
    """Train the tokenizer, build the GPT-2 and save both to ``folder`` (skipped if there)."""
    stamp = folder / "built.json"
    if stamp.is_file():
        meta: dict[str, Any] = json.loads(stamp.read_text())
        if meta.get("version") == BUILD_VERSION:
            return meta
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    started = time.perf_counter()
    lines = corpus(CORPUS_SENTENCES)
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # GPT-2's post-processor: nothing is added around a text (no BOS)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=[PAD, EOS, BOS, UNK],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(lines, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD, unk_token=UNK
    )
    fast.model_max_length = POSITIONS
    fast.save_pretrained(folder)
    config = GPT2Config(
        vocab_size=VOCAB,
        n_positions=POSITIONS,
        n_embd=HIDDEN,
        n_layer=LAYERS,
        n_head=HEADS,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    torch.manual_seed(MODEL_SEED)
    model = GPT2LMHeadModel(config)
    model.save_pretrained(folder, safe_serialization=True)
    meta = {
        "version": BUILD_VERSION,
        "vocab": len(fast),
        "trained_vocab": tok.get_vocab_size(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "corpus_lines": len(lines),
        "corpus_bytes": sum(len(line) + 1 for line in lines),
        "build_s": round(time.perf_counter() - started, 1),
    }
    if not 22e6 <= meta["parameters"] <= 24.5e6 or meta["trained_vocab"] != VOCAB:
        raise RuntimeError(f"the model is not the one the benchmark asks for: {meta}")
    stamp.write_text(json.dumps(meta, indent=2) + "\n")
    return meta


# -- the items -----------------------------------------------------------------------------


def write_items(path: Path, n: int) -> list[dict[str, Any]]:
    """``n`` four-choice items: a few sentences and a question; options of 1 to 12 words."""
    words = Words(random.Random(CORPUS_SEED))  # the corpus's vocabulary
    words.rng = random.Random(ITEM_SEED)
    rng = words.rng
    seen: set[str] = set()
    rows = []
    while len(rows) < n:
        story = " ".join(words.sentence() for _ in range(rng.randint(1, 2)))
        question = f"{story} {words.fill(rng.choice(QUESTIONS))} Answer:"
        if question in seen:
            continue
        options: list[str] = []
        while len(options) < 4:
            option = words.phrase(rng.choice((1, 1, 2, 3, 4, 6, 8, 12)))
            if option not in options:
                options.append(option)
        seen.add(question)
        rows.append(
            {
                "id": f"q{len(rows):04d}",
                "question": question,
                "options": options,
                "answer": rng.randrange(4),
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


# -- the tools -----------------------------------------------------------------------------


#: (question, option) -> (log-likelihood, the context and continuation the tool scored)
Scores = dict[tuple[str, str], tuple[float, str, str]]


@dataclass
class Config:
    tool: str  # "lm-eval" or "heldout"
    batch: int
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    walls: list[float] = field(default_factory=list)
    reason: str | None = None
    accuracy: float | None = None
    accuracy_norm: float | None = None
    scores: Scores = field(default_factory=dict)
    out: Path | None = None  # the last successful run's output folder

    @property
    def label(self) -> str:
        name = "lm-evaluation-harness" if self.tool == "lm-eval" else "heldout"
        return f"{name} (batch {self.batch})"


def find_program(name: str) -> str | None:
    """A console script beside this Python, then in .venv-bench, then on PATH."""
    for folder in (Path(sys.executable).parent, ROOT / ".venv-bench" / "bin"):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def lm_eval_task(root: Path, data: Path) -> Path:
    tasks = root / "lm_eval_tasks"
    tasks.mkdir()
    (tasks / "heldout_local.yaml").write_text(
        "task: heldout_local\n"
        "dataset_path: json\n"
        "dataset_kwargs:\n"
        f"  data_files:\n    test: {json.dumps(str(data))}\n"
        "test_split: test\n"
        "output_type: multiple_choice\n"
        'doc_to_text: "{{question}}"\n'
        "doc_to_choice: options\n"
        "doc_to_target: answer\n"
        'target_delimiter: " "\n'
        "metric_list:\n"
        "  - metric: acc\n"
        "    aggregation: mean\n"
        "    higher_is_better: true\n"
        "  - metric: acc_norm\n"
        "    aggregation: mean\n"
        "    higher_is_better: true\n"
    )
    return tasks


def lm_eval_argv(program: str, model: Path, tasks: Path, batch: int, out: Path) -> list[str]:
    return [
        program,
        "run",
        "--model",
        "hf",
        "--model_args",
        f"pretrained={model},dtype=float32",
        "--device",
        "cpu",
        "--batch_size",
        str(batch),
        "--tasks",
        "heldout_local",
        "--include_path",
        str(tasks),
        "--log_samples",
        "--output_path",
        str(out),
    ]


def heldout_spec(root: Path, data: Path, model: Path, batch: int) -> Path:
    folder = root / f"heldout-b{batch}"
    folder.mkdir()
    spec = folder / "eval.yaml"
    hf = {
        "backend": "hf",
        "path": str(model),
        "batch_size": batch,
        "device": "cpu",
        "dtype": "float32",
    }
    dataset = {
        "path": str(data),
        "id": "id",
        "input": "question",
        "target": "answer",
        "choices": "options",
    }
    spec.write_text(
        "name: bench-local\n"
        f"models:\n  local: {json.dumps(hf)}\n"
        f"dataset: {json.dumps(dataset)}\n"
        "task:\n"
        "  type: multiple_choice\n"
        "  method: loglikelihood\n"
        "  prompt: {template: '{{ question }}', chat: false}\n"
    )
    return spec


def heldout_argv(program: str | None, spec: Path, out: Path) -> list[str]:
    argv = [program] if program else [sys.executable, "-m", "heldout.cli"]
    store = f"sqlite:///{out / 'runs.db'}"
    json_path = str(out / "results.json")
    return [
        *argv,
        "run",
        str(spec),
        "--no-report",
        "--fresh",
        "--store",
        store,
        "--json",
        json_path,
    ]


# -- reading the results -------------------------------------------------------------------


def read_lm_eval(out: Path) -> tuple[float, float, Scores]:
    """acc, acc_norm and every choice's log-likelihood from ``--log_samples``."""
    results = sorted(out.rglob("results_*.json"))
    samples = sorted(out.rglob("samples_heldout_local_*.jsonl"))
    if not results or not samples:
        raise RuntimeError(f"no results or samples under {out}")
    metrics = json.loads(results[-1].read_text())["results"]["heldout_local"]
    scores: Scores = {}
    for line in samples[-1].read_text().splitlines():
        if not line.strip():
            continue
        sample = json.loads(line)
        doc, arguments = sample["doc"], sample["arguments"]
        # filtered_resps: one (loglikelihood, is_greedy) per choice, in the choices' order;
        # arguments: the (context, continuation) each was scored on, in the same order
        pairs = [(a["arg_0"], a["arg_1"]) for a in arguments.values()]
        for option, resp, (context, continuation) in zip(
            doc["options"], sample["filtered_resps"], pairs, strict=True
        ):
            scores[(doc["question"], option)] = (float(resp[0]), context, continuation)
    return float(metrics["acc,none"]), float(metrics["acc_norm,none"]), scores


def read_heldout(out: Path) -> tuple[float, float, Scores]:
    """accuracy, accuracy_norm from ``--json``; every choice's log-likelihood from the journal."""
    doc = json.loads((out / "results.json").read_text())
    metrics = doc["tasks"]["main"]["metrics"]["local"]
    scores: Scores = {}
    with sqlite3.connect(out / "runs.db") as db:
        for request, response in db.execute("SELECT request, response FROM calls"):
            req, resp = json.loads(request), json.loads(response)
            if req.get("kind") != "loglikelihood" or resp.get("logprob") is None:
                continue
            context, continuation = req["prompt"], req["continuation"]
            option = continuation.removeprefix(" ")
            scores[(context, option)] = (float(resp["logprob"]), context, continuation)
    return metrics["accuracy"]["value"], metrics["accuracy_norm"]["value"], scores


# -- running -------------------------------------------------------------------------------


def child_env(threads: int | None) -> dict[str, str]:
    """This environment, offline, with bytecode cached as usual and the same threads."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "NO_COLOR": "1",
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
    )
    if threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    return env


def compile_heldout() -> None:
    """Byte-compile heldout's sources, as pip does for the installed peers."""
    spec = importlib.util.find_spec("heldout")
    if spec is None or not spec.submodule_search_locations:
        return
    for folder in spec.submodule_search_locations:
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", folder],
            stdout=subprocess.DEVNULL,
            check=False,
        )


def run_once(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> tuple[float, int]:
    with log.open("w") as out:
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                argv,
                cwd=cwd,
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
    return wall, rc


def tail(log: Path, lines: int = 3) -> str:
    text = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return " | ".join(text[-lines:])[-400:]


def max_delta(a: Scores, b: Scores) -> tuple[float, int, int]:
    """Largest |a - b| over the choices both have, how many they share, how many either lacks."""
    shared = a.keys() & b.keys()
    worst = max((abs(a[k][0] - b[k][0]) for k in shared), default=math.inf)
    return worst, len(shared), len(a.keys() ^ b.keys())


def median(c: Config) -> float:
    return statistics.median(c.walls)


def print_table(configs: list[Config], items: int) -> None:
    rows = [("configuration", "median wall s (all rounds)", "items/s", "accuracy", "acc_norm")]
    for c in configs:
        if not c.walls:
            rows.append((c.label, "did not run (see below)", "", "", ""))
            continue
        walls = ", ".join(f"{w:.2f}" for w in c.walls)
        rows.append(
            (
                c.label,
                f"{median(c):.2f} ({walls})",
                f"{items / median(c):.2f}",
                "" if c.accuracy is None else f"{c.accuracy:.4f}",
                "" if c.accuracy_norm is None else f"{c.accuracy_norm:.4f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for k, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


def check(configs: list[Config], items: int) -> tuple[list[str], dict[str, Any]]:
    """The three targets as PASS/FAIL lines (and notes), with their figures."""
    lm = [c for c in configs if c.tool == "lm-eval" and c.walls and c.scores]
    held = [c for c in configs if c.tool == "heldout" and c.walls and c.scores]
    if not lm or not held:
        return ["FAIL  both tools must run (and be read) to check the targets"], {}
    best_lm, best_held = min(lm, key=median), min(held, key=median)
    lines: list[str] = []
    figures: dict[str, Any] = {"best_batch": {"lm-eval": best_lm.batch, "heldout": best_held.batch}}

    ratio = median(best_lm) / median(best_held)  # = items/s ratio
    figures["speed_ratio"] = ratio
    lines.append(
        f"{'PASS' if ratio >= SPEED_TARGET else 'FAIL'}  items/s, whole process: "
        f"{best_held.label} {items / median(best_held):.2f} / {best_lm.label} "
        f"{items / median(best_lm):.2f} = {ratio:.2f}x (target >= {SPEED_TARGET:g}x)"
    )

    reference = (best_lm.accuracy, best_lm.accuracy_norm)
    same = all((c.accuracy, c.accuracy_norm) == reference for c in lm + held)
    figures["accuracy"] = {c.label: [c.accuracy, c.accuracy_norm] for c in lm + held}
    lines.append(
        f"{'PASS' if same else 'FAIL'}  identical accuracy / acc_norm: "
        + ", ".join(
            f"{c.tool} b{c.batch} {c.accuracy:.4f} / {c.accuracy_norm:.4f}" for c in lm + held
        )
    )

    expected = 4 * items
    worst, complete, detail = 0.0, True, []
    for h in held:
        for c in lm:
            delta, shared, unmatched = max_delta(h.scores, c.scores)
            complete = complete and shared == expected and unmatched == 0
            worst = max(worst, delta)
            detail.append(f"heldout b{h.batch} vs lm-eval b{c.batch} {delta:.2e}")
    figures["max_abs_delta"] = worst
    ok = complete and worst <= TOLERANCE
    lines.append(
        f"{'PASS' if ok else 'FAIL'}  max |delta log-likelihood| over {expected} choices: "
        f"{worst:.2e} (target <= {TOLERANCE:g})"
        + ("" if complete else "; some choices unmatched between the tools")
    )
    lines.append("      pairs: " + "; ".join(detail))
    strings = sum(
        1
        for key in best_held.scores.keys() & best_lm.scores.keys()
        if best_held.scores[key][1:] != best_lm.scores[key][1:]
    )
    figures["differing_strings"] = strings
    lines.append(f"      (context, continuation) strings that differ between the tools: {strings}")
    for tool, group in (("lm-eval", lm), ("heldout", held)):
        if len(group) > 1:
            spread = max(max_delta(group[0].scores, g.scores)[0] for g in group[1:])
            figures[f"{tool}_batch_spread"] = spread
            lines.append(f"      {tool} across its own batch sizes: max |delta| {spread:.2e}")
    return lines, figures


def explain(lm: Config, held: Config, model: Path, top: int = 3) -> None:
    """The worst mismatches, with the tokens each side's convention gives them.

    lm-evaluation-harness (``hf``) encodes with ``tokenizer.encode(text)`` (the tokenizer's
    own special tokens: a BOS only if its post-processor adds one, or ``add_bos_token=True``),
    moves the context's trailing whitespace onto the continuation, encodes context +
    continuation whole and takes the tokens after the context's as the continuation.
    """
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model)
    shared = lm.scores.keys() & held.scores.keys()
    worst = sorted(shared, key=lambda k: -abs(lm.scores[k][0] - held.scores[k][0]))[:top]
    print("largest differences:")
    for key in worst:
        (ll_lm, ctx_lm, cont_lm), (ll_held, ctx_held, cont_held) = lm.scores[key], held.scores[key]
        plain = tok(ctx_lm + cont_lm, add_special_tokens=False)["input_ids"]
        special = tok.encode(ctx_lm + cont_lm)
        print(
            f"  option {key[1]!r}: lm-eval {ll_lm:.6f} on {ctx_lm[-20:]!r} + {cont_lm!r}; "
            f"heldout {ll_held:.6f} on {ctx_held[-20:]!r} + {cont_held!r}; "
            f"encode() adds {len(special) - len(plain)} special tokens "
            f"(first ids {special[:2]} vs {plain[:2]})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lm-eval-batches", default="1,16", help="e.g. 1,16,32")
    parser.add_argument("--heldout-batches", default="16,32,64")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads for both tools (0: torch's default)"
    )
    parser.add_argument("--cache", type=Path, default=CACHE, help="where the model is built")
    parser.add_argument("--rebuild", action="store_true", help="build the model again")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, outputs)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    lm_batches = [int(b) for b in args.lm_eval_batches.split(",") if b.strip()]
    held_batches = [int(b) for b in args.heldout_batches.split(",") if b.strip()]
    model = args.cache / "gpt2-6x384-32k"
    if args.rebuild and model.exists():
        shutil.rmtree(model)
    built = model.joinpath("built.json").is_file()
    meta = build_model(model)
    how = "cached" if built else f"built in {meta['build_s']} s"
    print(
        f"model {model} ({how}): "
        f"{meta['parameters'] / 1e6:.2f}M parameters, vocabulary {meta['vocab']}",
        flush=True,
    )
    env = child_env(args.threads)
    probe = "import torch; print(torch.get_num_threads(), torch.__version__)"
    threads, torch_version = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    ).stdout.split()

    root = Path(tempfile.mkdtemp(prefix="heldout-bench-local-"))
    data = root / "items.jsonl"
    items = write_items(data, args.items)
    print(
        f"{len(items)} four-choice items ({4 * len(items)} log-likelihoods), {args.rounds} rounds, "
        f"float32 on the CPU, torch {torch_version} with {threads} threads in both tools "
        f"({os.cpu_count()} CPUs); work folder {root}",
        flush=True,
    )
    env["HF_HOME"] = str(root / "hf")  # datasets' cache for lm-eval's json loader

    configs: list[Config] = []
    lm_program = find_program("lm_eval") or find_program("lm-eval")
    tasks = lm_eval_task(root, data)
    for b in lm_batches:
        c = Config("lm-eval", b, env=env)
        if lm_program is None:
            c.reason = 'not installed (pip install -e ".[bench]")'
        configs.append(c)
    held_program = find_program("heldout")
    specs = {b: heldout_spec(root, data, model, b) for b in held_batches}
    configs += [Config("heldout", b, env=env) for b in held_batches]
    compile_heldout()

    if lm_program is not None:
        # untimed: fills datasets' cache of the JSON file, as any second run would find it
        warm = root / "lm-eval-warmup"
        argv = [*lm_eval_argv(lm_program, model, tasks, 1, warm), "--limit", "2"]
        _, rc = run_once(argv, env, root, root / "lm-eval-warmup.log")
        print(f"lm-eval warm-up (--limit 2, untimed): rc {rc}", flush=True)

    for rnd in range(1, args.rounds + 1):
        for c in configs:
            if c.reason and not c.walls:
                continue
            out = root / f"{c.tool}-b{c.batch}-r{rnd}"
            out.mkdir()
            if c.tool == "lm-eval":
                assert lm_program is not None
                run_argv = lm_eval_argv(lm_program, model, tasks, c.batch, out)
                cwd = root
            else:
                run_argv = heldout_argv(held_program, specs[c.batch], out)
                cwd = specs[c.batch].parent
            log = out / "log.txt"
            wall, rc = run_once(run_argv, c.env, cwd, log)
            print(
                f"round {rnd}  {c.label:<32} {wall:7.2f} s  {len(items) / wall:6.2f} items/s  rc {rc}",
                flush=True,
            )
            if rc != 0:
                c.reason = f"exit {rc} in round {rnd}: {tail(log)}"
                continue
            c.walls.append(wall)
            try:
                if c.tool == "lm-eval":
                    c.accuracy, c.accuracy_norm, c.scores = read_lm_eval(out)
                else:
                    c.accuracy, c.accuracy_norm, c.scores = read_heldout(out)
            except Exception as exc:
                c.reason = f"unreadable output in round {rnd}: {type(exc).__name__}: {exc}"
            c.out = out

    print()
    print_table(configs, len(items))
    for c in configs:
        if c.reason:
            print(f"{c.label}: {c.reason}")
    print()
    lines, figures = check(configs, len(items))
    for line in lines:
        print(line)
    lm = [c for c in configs if c.tool == "lm-eval" and c.scores and c.walls]
    held = [c for c in configs if c.tool == "heldout" and c.scores and c.walls]
    if lm and held and figures.get("max_abs_delta", 0.0) > TOLERANCE:
        explain(min(lm, key=median), min(held, key=median), model)
    if args.json:
        payload = {
            "items": len(items),
            "rounds": args.rounds,
            "threads": int(threads),
            "model": meta,
            "configs": [
                {
                    "tool": c.tool,
                    "batch": c.batch,
                    "walls": c.walls,
                    "items_per_s": len(items) / median(c) if c.walls else None,
                    "accuracy": c.accuracy,
                    "accuracy_norm": c.accuracy_norm,
                    "reason": c.reason,
                }
                for c in configs
            ],
            **figures,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    if args.keep:
        print(f"work folder kept: {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if lines and all(not line.startswith("FAIL") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
