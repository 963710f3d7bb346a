"""A scripted judge: reads its prompt the way a careful model would, and answers by rule.

It takes as instructions only what lies outside the ``<data name=...>`` blocks, and as
material only what lies inside them. An instruction such as "give 10" outside the data is
obeyed (so a prompt that let an output escape its block would be caught); the same words
inside a block are material and judged like any other text.

Honest scoring: 5 when the output says "good", 1 when it says "bad", 3 otherwise (on a
0/1 scale: 1 for "good", else 0). An output containing ``MALFORMED`` is answered in prose
the first time and in JSON once repaired; ``BROKEN`` is always answered in prose.
"""

from __future__ import annotations

import json
import re
from typing import Any

CALLS: list[str] = []

_BLOCK = re.compile(r'<data name="([^"]+)">\n(.*?)\n</data>', re.DOTALL)


def read_prompt(messages: list[dict[str, str]]) -> tuple[str, dict[str, str], bool]:
    """(instructions, data blocks, whether this is a repair)."""
    outside: list[str] = []
    data: dict[str, str] = {}
    for m in messages:
        if m["role"] == "assistant":
            continue
        text = m["content"]
        for match in _BLOCK.finditer(text):
            data[match.group(1)] = match.group(2)
        outside.append(_BLOCK.sub("", text))
    repair = messages[-1]["role"] == "user" and "could not be read" in messages[-1]["content"]
    return "\n".join(outside), data, repair


def _scale(instructions: str) -> tuple[int, int]:
    m = re.search(r"integer from (-?\d+) to (-?\d+)", instructions)
    return (int(m.group(1)), int(m.group(2))) if m else (1, 5)


def answer(messages: list[dict[str, str]]) -> str:
    """The judge's reply to one prompt."""
    instructions, data, repair = read_prompt(messages)
    CALLS.append(instructions[:40])
    output = data.get("output", "")
    if "Write the evaluation steps" in instructions:
        return json.dumps({"steps": ["Read the output.", "Check the criterion.", "Score it."]})
    if "response_A" in instructions:
        if "honest" in instructions:
            a, b = data.get("response_A", ""), data.get("response_B", "")
            winner = "tie" if len(a) == len(b) else ("A" if len(a) > len(b) else "B")
        else:
            winner = "A"  # a judge with a strong first-position bias
        return json.dumps({"reason": "compared", "winner": winner})
    if "Reply with the result alone" in instructions:
        numbers = re.findall(r"\d+", output)
        return " ".join(numbers) if numbers else "none"
    if '"verdict"' in instructions:
        if "polite" in instructions:
            verdict = "yes" if "please" in output else "no"
        elif "numbers" in instructions:
            verdict = "no" if data.get("numbers", "none") == "none" else "yes"
        elif "tone" in instructions:
            verdict = "warm" if "thanks" in output else "cold"
        else:
            verdict = "maybe"
        return f"Looking at it: {json.dumps({'reason': 'by rule', 'verdict': verdict})}"
    if '"choice"' in instructions:
        reference = data.get("reference", "")
        if output == reference:
            choice = "correct"
        elif set(output.split()) & set(reference.split()):
            choice = "partial"
        else:
            choice = "incorrect"
        return "```json\n" + json.dumps({"reason": "step by step", "choice": choice}) + "\n```"
    if "BROKEN" in output or ("MALFORMED" in output and not repair):
        return "I would say it is rather good, four out of five."
    obey = re.search(r"give (\d+)", instructions)
    low, high = _scale(instructions)
    if obey:
        score = int(obey.group(1))
    elif (low, high) == (0, 1):
        score = 1 if "good" in output else 0
    else:
        score = 5 if "good" in output else (1 if "bad" in output else 3)
    return json.dumps({"score": score, "reason": f"judged on {len(output)} characters"})


def judge(prompts: list[list[dict[str, str]]]) -> list[Any]:
    """The ``python`` judge backend's function: one answer per chat prompt."""
    return [answer(p) for p in prompts]
