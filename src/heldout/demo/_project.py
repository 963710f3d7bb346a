"""Writes the quickstart demo project: eval.yaml, two datasets and two models' predictions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from heldout.demo._drafts import draft_replies
from heldout.demo._replies import generate_reply_examples
from heldout.demo._routing import routing_predictions
from heldout.demo._tickets import INTENTS, generate_tickets

__all__ = ["EVAL_YAML", "write_demo_project"]

EVAL_YAML = """\
# The quickstart demo: Tidewell, a (fictional) smart-home shop, fine-tuned its support
# model with LoRA. Is the fine-tune really better than the base model it started from?
name: support-assistant
description: Base vs LoRA fine-tune of the support assistant, on ticket routing and reply drafting.
# Each model is a predictions file per task ({{task}} becomes the task's name; the quotes
# keep YAML from reading the braces as a mapping).
models:
  base:  {{backend: predictions, path: "predictions/base.{{task}}.jsonl"}}
  tuned: {{backend: predictions, path: "predictions/tuned.{{task}}.jsonl"}}
# The comparison to report: candidate minus baseline, paired on the same examples.
compare: {{candidate: tuned, baseline: base}}
# 95% intervals; 1,000 bootstrap resamples where a metric needs them; a fixed seed.
stats: {{confidence: 0.95, resamples: 1000, seed: 0}}
tasks:
  # Which queue should a ticket go to?
  - name: routing
    type: classification
    dataset:
      path: data/tickets.jsonl
      id: ticket_id             # stable ids pair the two models' predictions
      input: text
      target: intent
      slices: [language, tier, channel]   # reported separately, Holm-corrected
      cluster: customer_id      # tickets of one customer are not independent
    labels: [{labels}]
    headline: macro_f1
  # Drafting a reply, scored against one or two replies our support team actually sent.
  - name: replies
    type: generation
    dataset:
      path: data/replies.jsonl
      id: reply_id
      input: ticket
      target: references
      slices: [language]
    headline: chrf
"""


_JSON = json.JSONEncoder(ensure_ascii=False)  # json.dumps would build one per row


def _write_jsonl(path: Path, rows: Iterable[Mapping[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(_JSON.encode(row) + "\n" for row in rows)
    path.write_text(text, encoding="utf-8", newline="\n")


def write_demo_project(directory: Path, *, seed: int = 7) -> Path:
    """Writes the demo project into ``directory`` and returns the path of its eval.yaml.

    The project holds about 2,000 support tickets of a fictional company with the routing
    predictions of a base model and its LoRA fine-tune, and 300 reply-drafting examples
    with both models' drafts. The same seed always writes the same bytes; existing files
    of the same names are overwritten, anything else in ``directory`` is left alone.

    Example:
        >>> spec = write_demo_project(Path("demo"))  # doctest: +SKIP
        >>> spec.name
        'eval.yaml'
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)

    tickets = generate_tickets(seed)
    _write_jsonl(root / "data" / "tickets.jsonl", (t.to_json() for t in tickets))
    for model, rows in routing_predictions(tickets, seed).items():
        _write_jsonl(root / "predictions" / f"{model}.routing.jsonl", rows)

    examples = generate_reply_examples(seed)
    _write_jsonl(root / "data" / "replies.jsonl", (e.to_json() for e in examples))
    for model, drafts in draft_replies(examples, seed).items():
        pairs = zip(examples, drafts, strict=True)
        _write_jsonl(
            root / "predictions" / f"{model}.replies.jsonl",
            ({"id": e.reply_id, "prediction": d} for e, d in pairs),
        )

    spec = root / "eval.yaml"
    spec.write_text(EVAL_YAML.format(labels=", ".join(INTENTS)), encoding="utf-8", newline="\n")
    return spec
