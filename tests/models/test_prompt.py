from __future__ import annotations

import random
import time
from typing import Any

import numpy as np
import pytest
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from heldout import SpecError
from heldout.models._prompt import _RING_POINTS, _ring, default_choice_template, render_prompts
from heldout.models._protocol import Message, Prompt
from heldout.spec._model import FewShotSpec, PromptSpec

Record = dict[str, Any]


def _records(n: int, prefix: str = "e") -> list[Record]:
    return [{"id": f"{prefix}{i}", "input": f"q{prefix}{i}", "target": f"a{i}"} for i in range(n)]


def _locate(i: int) -> str:
    return f"data.jsonl:{i + 1}"


def _render(records: list[Record], pool: list[Record] | None = None, **spec: Any) -> list[Prompt]:
    return render_prompts(
        records, PromptSpec(**spec), pool=pool, where="eval.yaml:12:5", locate=_locate
    )


def _shots(prompt: Prompt) -> list[str]:
    """The questions of a text prompt's shots (template ``{{ input }}``, answer ``=``)."""
    assert isinstance(prompt, str)
    return [part.split(" ")[0] for part in prompt.split("\n\n")[:-1]]


def _few_shot(records: list[Record], k: int, seed: int = 0, **kw: Any) -> list[Prompt]:
    return _render(records, answer="=", chat=False, few_shot=FewShotSpec(k=k, seed=seed), **kw)


# --- layout -------------------------------------------------------------------------------


def test_text_prompt_without_shots_is_the_rendered_template() -> None:
    prompts = _render(_records(2), template="Q: {{ input }}\nA:", chat=False)
    assert prompts == ["Q: qe0\nA:", "Q: qe1\nA:"]


def test_text_prompt_puts_system_first_separated_by_a_blank_line() -> None:
    prompts = _render(_records(1), template="{{ input }}", system="Be brief.", chat=False)
    assert prompts == ["Be brief.\n\nqe0"]


def test_chat_prompt_is_system_then_user() -> None:
    prompts = _render(_records(1), template="Q: {{ input }}", system="Be brief.")
    assert prompts == [(Message("system", "Be brief."), Message("user", "Q: qe0"))]


def test_chat_prompt_without_system_is_one_user_message() -> None:
    assert _render(_records(1)) == [(Message("user", "qe0"),)]


def test_chat_few_shot_alternates_user_and_assistant_turns() -> None:
    pool = [{"id": "p0", "input": "one", "target": "1"}]
    prompts = _render(
        [{"id": "x", "input": "ask", "target": "?"}],
        pool,
        template="Q: {{ input }}",
        answer="A: {{ target }}",
        system="Sys",
        few_shot=FewShotSpec(k=1),
    )
    assert prompts == [
        (
            Message("system", "Sys"),
            Message("user", "Q: one"),
            Message("assistant", "A: 1"),
            Message("user", "Q: ask"),
        )
    ]


def test_text_few_shot_joins_question_and_answer_with_one_space() -> None:
    pool = [
        {"id": "p0", "input": "one", "target": "1"},
        {"id": "p1", "input": "two", "target": "2"},
    ]
    spec: dict[str, Any] = {
        "template": "Q: {{ input }}\nA:",
        "system": "Sys",
        "few_shot": FewShotSpec(k=2, seed=3),
    }
    example = [{"id": "x", "input": "ask", "target": "?"}]
    chat = _render(example, pool, **spec)
    text = _render(example, pool, chat=False, **spec)
    one = "Q: one\nA:"
    two = "Q: two\nA:"
    assert chat[0][1:5] in {  # both shots, in the order drawn
        (
            Message("user", one),
            Message("assistant", "1"),
            Message("user", two),
            Message("assistant", "2"),
        ),
        (
            Message("user", two),
            Message("assistant", "2"),
            Message("user", one),
            Message("assistant", "1"),
        ),
    }
    first, second = ("1", "2") if chat[0][1].content == one else ("2", "1")
    shot = {"1": "Q: one\nA: 1", "2": "Q: two\nA: 2"}
    assert text == [f"Sys\n\n{shot[first]}\n\n{shot[second]}\n\nQ: ask\nA:"]


def test_answer_template_renders_any_field() -> None:
    pool = [{"id": "p0", "input": "one", "target": "B", "choices": ["x", "y"]}]
    prompts = _render(
        [{"id": "x", "input": "ask"}],
        pool,
        chat=False,
        answer="{{ target }} ({{ choices[1] }})",
        few_shot=FewShotSpec(k=1),
    )
    assert prompts == ["one B (y)\n\nask"]


# --- Jinja environment ----------------------------------------------------------------------


def test_trailing_newline_of_the_template_is_dropped() -> None:
    assert _render(_records(1), template="{{ input }}\n", chat=False) == ["qe0"]


def test_newline_after_a_block_tag_is_removed() -> None:
    template = "{% for c in choices %}\n- {{ c }}\n{% endfor %}\n"
    prompts = _render([{"id": "1", "choices": ["a", "b"]}], template=template, chat=False)
    assert prompts == ["- a\n- b\n"]


def test_nothing_is_html_escaped() -> None:
    prompts = _render([{"id": "1", "input": "<b>a & b</b>"}], chat=False)
    assert prompts == ["<b>a & b</b>"]


def test_default_choice_template_letters_each_choice_on_its_own_line() -> None:
    record = {"id": "1", "input": "2 + 2?", "choices": ["3", "4"], "letters": ["A", "B"]}
    prompts = _render([record], template=default_choice_template(), chat=False)
    assert prompts == ["2 + 2?\nA. 3\nB. 4\nAnswer with the letter of the correct option."]


@pytest.mark.parametrize(
    "template",
    ["{{ ''.__class__ }}", "{{ input.__class__.__mro__ }}", "{{ input.__init__.__globals__ }}"],
)
def test_sandbox_blocks_private_attributes(template: str) -> None:
    with pytest.raises(
        SpecError, match=r"^data\.jsonl:1: prompt\.template fails on this example: .*unsafe"
    ):
        _render(_records(1), template=template)


@pytest.mark.parametrize(
    "template", ["{{ x }}", "A {{ x }} B {{ y }}\n", "{{x}}{{y}}", "{{ x }}\n\n{{ x }}", "plain"]
)
@pytest.mark.parametrize(
    "value", [None, 1.5, True, 10**20, [1, "a"], {"k": 1}, "ünï\n", np.float64(0.1), ""]
)
def test_field_substitution_renders_as_jinja_does(template: str, value: object) -> None:
    record = {"id": "1", "x": value, "y": "why"}
    env = SandboxedEnvironment(undefined=StrictUndefined, trim_blocks=True)
    expected = env.from_string(template).render(record)
    assert _render([record], template=template, chat=False) == [expected]


def test_field_named_like_a_jinja_global_is_the_field() -> None:
    assert _render([{"id": "1", "range": "r"}], template="{{ range }}", chat=False) == ["r"]


# --- errors ---------------------------------------------------------------------------------


def test_syntax_error_names_the_spec_location_and_template_line() -> None:
    with pytest.raises(SpecError) as info:
        _render(_records(1), template="Q:\n{{ input }\n")
    message = str(info.value)
    assert message.startswith("eval.yaml:12:5: prompt.template: ")
    assert message.endswith(" (template line 2). Fix the template")


def test_answer_syntax_error_is_reported_only_with_few_shot() -> None:
    assert _render(_records(1), answer="{{ target", chat=False) == ["qe0"]
    with pytest.raises(SpecError, match=r"^eval\.yaml:12:5: prompt\.answer: .*template line 1"):
        _render(_records(2), answer="{{ target", few_shot=FewShotSpec(k=1))


def test_undefined_field_names_it_suggests_and_lists_fields() -> None:
    records = [{"id": f"{i}", "input": "x", "question": "q", "target": "t"} for i in range(3)]
    records[2] = {"id": "2", "input": "x", "questoin": "q", "target": "t"}
    with pytest.raises(SpecError) as info:
        _render(records, template="{{ question }}")
    assert str(info.value) == (
        "data.jsonl:3: prompt.template uses {{ question }}, which this example does not "
        'have; did you mean "questoin"? Fields: id, input, questoin, target'
    )


def test_undefined_field_without_a_close_name_lists_fields_only() -> None:
    with pytest.raises(SpecError) as info:
        _render(_records(1), template="{{ zzz }}")
    assert str(info.value) == (
        "data.jsonl:1: prompt.template uses {{ zzz }}, which this example does not have. "
        "Fields: id, input, target"
    )


def test_missing_key_of_a_field_names_the_example() -> None:
    with pytest.raises(
        SpecError, match=r"^data\.jsonl:1: prompt\.template fails on this example: .*'y'"
    ):
        _render([{"id": "1", "meta": {"x": 1}}], template="{{ meta.y }}")


def test_type_error_while_rendering_names_the_example() -> None:
    with pytest.raises(SpecError, match=r"^data\.jsonl:2: prompt\.template fails on this example"):
        _render([{"id": "1", "n": 1}, {"id": "2", "n": "a"}], template="{{ n + 1 }}")


def test_shot_from_the_eval_set_is_located_in_the_data_file() -> None:
    records = [{"id": "0", "input": "x"}, {"id": "1", "input": "y", "target": "t"}]
    with pytest.raises(SpecError) as info:
        _render(records, few_shot=FewShotSpec(k=1))
    assert str(info.value).startswith(
        "data.jsonl:1: prompt.answer uses {{ target }}, which this example does not have"
    )


def test_shot_from_a_separate_pool_is_named_by_id() -> None:
    with pytest.raises(SpecError) as info:
        _render(_records(1), [{"id": "p7", "input": "x"}], few_shot=FewShotSpec(k=1))
    assert str(info.value).startswith(
        'few-shot example "p7": prompt.answer uses {{ target }}, which this example'
    )


def test_shot_from_a_separate_pool_uses_its_locator() -> None:
    with pytest.raises(SpecError, match=r"^shots\.jsonl:1: prompt\.answer uses"):
        render_prompts(
            _records(1),
            PromptSpec(few_shot=FewShotSpec(k=1)),
            pool=[{"id": "p7", "input": "x"}],
            where="eval.yaml:1:1",
            locate=_locate,
            locate_pool=lambda i: f"shots.jsonl:{i + 1}",
        )


def test_pool_smaller_than_k_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as info:
        _few_shot(_records(3), k=3)
    assert str(info.value) == (
        "eval.yaml:12:5: prompt.few_shot.k is 3, but the few-shot pool has only 2 example(s) "
        "to draw from for data.jsonl:1 (an example is never its own shot). Lower "
        "prompt.few_shot.k or give a larger pool with prompt.few_shot.path"
    )


def test_pool_counts_only_candidates_other_than_the_example() -> None:
    pool = [*_records(2, prefix="p"), {"id": "e1", "input": "dup", "target": "t"}]
    with pytest.raises(SpecError, match=r"only 2 example\(s\) to draw from for data\.jsonl:2 "):
        _few_shot(_records(2), k=3, pool=pool)


# --- few-shot draws -------------------------------------------------------------------------


def test_few_shot_never_draws_the_example_itself() -> None:
    records = _records(10)
    for record, prompt in zip(records, _few_shot(records, k=9), strict=True):
        shots = _shots(prompt)
        assert len(shots) == 9
        assert sorted(shots) == sorted(r["input"] for r in records if r is not record)


def test_few_shot_skips_pool_records_with_the_example_id() -> None:
    pool = [{"id": "e0", "input": "same", "target": "t"}, *_records(3, prefix="p")]
    (prompt,) = _few_shot(_records(1), k=3, pool=pool)
    assert sorted(_shots(prompt)) == ["qp0", "qp1", "qp2"]


def test_few_shot_draws_k_distinct_records_in_a_stable_order() -> None:
    records = _records(40)
    first = _few_shot(records, k=4, seed=7)
    assert first == _few_shot(records, k=4, seed=7)
    for prompt in first:
        assert len(set(_shots(prompt))) == 4


def test_few_shot_seed_changes_the_draw() -> None:
    records = _records(40)
    assert _few_shot(records, k=4, seed=1) != _few_shot(records, k=4, seed=2)


def test_few_shot_prompt_does_not_depend_on_dataset_order() -> None:
    records = _records(60)
    shuffled = records[:]
    random.Random(0).shuffle(shuffled)
    by_id = dict(zip((r["id"] for r in records), _few_shot(records, k=5), strict=True))
    for record, prompt in zip(shuffled, _few_shot(shuffled, k=5), strict=True):
        assert prompt == by_id[record["id"]]


def test_removing_an_example_keeps_every_prompt_that_did_not_show_it() -> None:
    records = _records(60)
    before = _few_shot(records, k=5)
    removed = records[17]
    after = _few_shot(records[:17] + records[18:], k=5)
    kept = [p for r, p in zip(records, before, strict=True) if r is not removed]
    unchanged = [
        old == new
        for old, new in zip(kept, after, strict=True)
        if removed["input"] not in _shots(old)
    ]
    assert len(unchanged) > 40
    assert all(unchanged)


def test_adding_examples_changes_a_prompt_only_to_show_a_new_one() -> None:
    records = _records(60)
    new = _records(20, prefix="n")
    before = _few_shot(records, k=5)
    after = _few_shot(records + new, k=5)
    changed = 0
    for old, now in zip(before, after[:60], strict=True):
        if old != now:
            changed += 1
            assert any(shot.startswith("qn") for shot in _shots(now))
    assert 0 < changed < 60


def test_a_separate_pool_keeps_prompts_when_examples_are_removed() -> None:
    records, pool = _records(30), _records(30, prefix="p")
    before = _few_shot(records, k=3, pool=pool)
    after = _few_shot(records[::2], k=3, pool=pool)
    assert after == before[::2]


def test_few_shot_uses_most_of_the_pool() -> None:
    records = _records(300)
    counts: dict[str, int] = {}
    for prompt in _few_shot(records, k=4, seed=11):
        for shot in _shots(prompt):
            counts[shot] = counts.get(shot, 0) + 1
    # 1200 draws over 300 records: a fair draw leaves about e**-4 (2%) unused.
    assert len(counts) > 270
    assert max(counts.values()) < 20


def test_no_examples_give_no_prompts() -> None:
    assert _few_shot([], k=2) == []
    assert _render([]) == []


def test_small_pool_still_fills_every_shot() -> None:
    records = _records(65)
    for prompt in _few_shot(records, k=64, seed=5):
        assert len(set(_shots(prompt))) == 64


def test_ring_does_not_depend_on_pool_order() -> None:
    rng = np.random.default_rng(0)
    bases = rng.integers(0, 2**63, size=2000, dtype=np.uint64)
    perm = rng.permutation(2000)
    points, owners = _ring(bases)
    shuffled_points, shuffled_owners = _ring(bases[perm])
    assert (points == shuffled_points).all()
    assert (owners == perm[shuffled_owners]).all()
    assert (np.diff(points.astype(np.float64)) >= 0).all()
    assert len(points) == 2000 * _RING_POINTS


# --- speed ----------------------------------------------------------------------------------


def test_renders_a_hundred_thousand_examples_quickly() -> None:
    records = _records(100_000)
    start = time.perf_counter()
    prompts = _render(records, template="Question: {{ input }}\nAnswer:", chat=False)
    elapsed = time.perf_counter() - start
    assert prompts[99_999] == "Question: qe99999\nAnswer:"
    assert elapsed < 2.0
