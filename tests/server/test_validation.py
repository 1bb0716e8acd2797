"""Request validation (API.md §1): 400 with `param`, the max_tokens alias, extra fields kept."""

from __future__ import annotations

from typing import Any

import pytest

from tensormesh_server.errors import APIError
from tensormesh_server.validation import (
    require_model,
    validate_chat,
    validate_completion,
    validate_detokenize,
    validate_responses,
    validate_tokenize,
)

MESSAGES = [{"role": "user", "content": "hi"}]


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": MESSAGES, **fields}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "messages"),
        (chat(messages=[]), "messages"),
        (chat(messages=[{"content": "no role"}]), "messages"),
        (chat(temperature="hot"), "temperature"),
        (chat(temperature=3), "temperature"),
        (chat(top_p=True), "top_p"),
        (chat(max_tokens=0), "max_tokens"),
        (chat(max_tokens=1.5), "max_tokens"),
        (chat(max_completion_tokens="9"), "max_completion_tokens"),
        (chat(n=0), "n"),
        (chat(stop=3), "stop"),
        (chat(seed="x"), "seed"),
        (chat(stream="yes"), "stream"),
        (chat(logprobs=1), "logprobs"),
        (chat(top_logprobs=50), "top_logprobs"),
        (chat(response_format={"type": "yaml"}), "response_format"),
        (chat(tools={"type": "function"}), "tools"),
        (chat(tool_choice="sometimes"), "tool_choice"),
        (chat(temperature=0, n=2), "n"),
        (chat(stream_options={"include_usage": True}), "stream_options"),
        (chat(stream=False, stream_options={"include_usage": True}), "stream_options"),
        (chat(max_tokens=5, max_completion_tokens=6), "max_completion_tokens"),
    ],
)
def test_chat_errors_name_the_parameter(body: dict[str, Any], param: str) -> None:
    with pytest.raises(APIError) as caught:
        validate_chat(body)
    assert caught.value.status == 400
    assert caught.value.param == param
    assert caught.value.body()["error"]["type"] == "invalid_request_error"


def test_chat_accepts_alias_and_extra_fields() -> None:
    body = chat(max_completion_tokens=7, temperature=0, n=1, my_engine_knob={"a": 1}, top_k=3)
    validate_chat(body)
    assert body["max_tokens"] == 7
    assert "max_completion_tokens" not in body
    assert body["my_engine_knob"] == {"a": 1}
    validate_chat(chat(stream=True, stream_options={"include_usage": True}))


def test_model_is_required_and_a_string() -> None:
    with pytest.raises(APIError) as caught:
        require_model({"messages": MESSAGES})
    assert (caught.value.status, caught.value.param) == (400, "model")
    with pytest.raises(APIError) as caught:
        require_model({"model": 3})
    assert caught.value.param == "model"
    assert require_model({"model": "m"}) == "m"


@pytest.mark.parametrize(
    ("validate", "body", "param"),
    [
        (validate_completion, {"model": "m"}, "prompt"),
        (validate_completion, {"model": "m", "prompt": 5}, "prompt"),
        (validate_completion, {"model": "m", "prompt": "x", "echo": "no"}, "echo"),
        (validate_responses, {"model": "m"}, "input"),
        (validate_responses, {"model": "m", "input": 5}, "input"),
        (
            validate_responses,
            {"model": "m", "input": "x", "max_output_tokens": 0},
            "max_output_tokens",
        ),
        (validate_tokenize, {"model": "m"}, "prompt"),
        (validate_tokenize, {"model": "m", "prompt": "a", "messages": MESSAGES}, "prompt"),
        (
            validate_tokenize,
            {"model": "m", "prompt": "a", "add_special_tokens": 1},
            "add_special_tokens",
        ),
        (validate_detokenize, {"model": "m"}, "tokens"),
        (validate_detokenize, {"model": "m", "tokens": [1, "2"]}, "tokens"),
        (validate_detokenize, {"model": "m", "tokens": [-1]}, "tokens"),
    ],
)
def test_other_routes(validate: Any, body: dict[str, Any], param: str) -> None:
    with pytest.raises(APIError) as caught:
        validate(body)
    assert (caught.value.status, caught.value.param) == (400, param)


def test_valid_bodies_pass() -> None:
    validate_completion({"model": "m", "prompt": ["a", "b"], "n": 2, "temperature": 0.5})
    validate_responses({"model": "m", "input": [{"role": "user", "content": "x"}]})
    validate_tokenize({"model": "m", "messages": MESSAGES, "add_generation_prompt": False})
    validate_detokenize({"model": "m", "tokens": [1, 2, 3]})
