"""Separating a leading <think> block from text, also when the tags are split."""

from __future__ import annotations

import pytest

from tensormesh._think import ThinkFilter, split_think
from tensormesh.types import ChatCompletion

TEXT = "<think>\nweigh options</think>\n\nThe answer is 4."


def run(pieces: list[str]) -> tuple[str, str, bool]:
    think = ThinkFilter()
    visible = "".join(think.feed(p) for p in pieces) + think.finish()
    return visible, think.reasoning, think.found


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 100])
def test_every_chunk_size(size: int) -> None:
    pieces = [TEXT[i : i + size] for i in range(0, len(TEXT), size)]
    assert run(pieces) == ("The answer is 4.", "\nweigh options", True)


def test_every_two_way_split() -> None:
    for i in range(len(TEXT) + 1):
        assert run([TEXT[:i], TEXT[i:]])[0] == "The answer is 4.", i


def test_no_think_block_passes_through_unchanged() -> None:
    assert run(["Hel", "lo <think> not at start"]) == ("Hello <think> not at start", "", False)
    assert run(["<thi", "s is text"]) == ("<this is text", "", False)


def test_text_that_is_only_a_tag_prefix_is_released_at_the_end() -> None:
    assert run(["<th"]) == ("<th", "", False)


def test_unclosed_block_is_all_reasoning() -> None:
    assert run(["<think>still thinking"]) == ("", "still thinking", True)


def test_leading_whitespace_before_the_block() -> None:
    assert run(["  \n<think>r</think>x"]) == ("x", "r", True)


def test_split_think() -> None:
    assert split_think("<think>r</think> answer") == ("r", "answer")
    assert split_think("plain") == (None, "plain")


def test_chat_completion_moves_think_into_reasoning() -> None:
    completion = ChatCompletion.model_validate(
        {"choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT}}]}
    )
    message = completion.choices[0].message
    assert message.content == "The answer is 4."
    assert message.reasoning == "\nweigh options"
