"""Validation of request bodies (API.md §1): 400s with `param`, aliases, unknown fields kept."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import bad_request

Check = Callable[[Any], bool]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _between(low: float, high: float) -> Check:
    return lambda v: _is_number(v) and low <= v <= high


def _int_at_least(low: int) -> Check:
    return lambda v: _is_int(v) and v >= low


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_dict(value: Any) -> bool:
    return isinstance(value, dict)


def _is_list_of(check: Check) -> Check:
    return lambda v: isinstance(v, list) and all(check(item) for item in v)


def _is_stop(value: Any) -> bool:
    return _is_str(value) or (_is_list_of(_is_str)(value) and len(value) <= 16)


def _is_message(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and _is_str(value.get("role"))
        and (
            value.get("content") is None
            or _is_str(value["content"])
            or _is_list_of(_is_dict)(value["content"])
        )
    )


def _is_prompt(value: Any) -> bool:
    return (
        _is_str(value)
        or _is_list_of(_is_str)(value)
        or (_is_list_of(_is_int)(value) and len(value) > 0)
        or _is_list_of(_is_list_of(_is_int))(value)
    )


def _is_tool_choice(value: Any) -> bool:
    return value in ("auto", "none", "required") or _is_dict(value)


def _is_response_format(value: Any) -> bool:
    return _is_dict(value) and value.get("type") in ("text", "json_object", "json_schema")


def _is_input(value: Any) -> bool:
    return _is_str(value) or _is_list_of(_is_dict)(value)


_SAMPLING: dict[str, tuple[Check, str]] = {
    "temperature": (_between(0, 2), "a number between 0 and 2"),
    "top_p": (_between(0, 1), "a number between 0 and 1"),
    "max_tokens": (_int_at_least(1), "an integer >= 1"),
    "n": (_int_at_least(1), "an integer >= 1"),
    "stop": (_is_stop, "a string or a list of strings"),
    "seed": (_is_int, "an integer"),
    "presence_penalty": (_between(-2, 2), "a number between -2 and 2"),
    "frequency_penalty": (_between(-2, 2), "a number between -2 and 2"),
    "logit_bias": (_is_dict, "an object"),
    "user": (_is_str, "a string"),
    "stream": (_is_bool, "a boolean"),
    "stream_options": (_is_dict, "an object"),
    "top_k": (_is_int, "an integer"),
    "min_p": (_between(0, 1), "a number between 0 and 1"),
    "typical_p": (_between(0, 1), "a number between 0 and 1"),
    "repetition_penalty": (lambda v: _is_number(v) and v > 0, "a positive number"),
    "ignore_eos": (_is_bool, "a boolean"),
}

CHAT_FIELDS: dict[str, tuple[Check, str]] = {
    **_SAMPLING,
    "messages": (
        lambda v: _is_list_of(_is_message)(v) and len(v) > 0,
        "a non-empty list of messages with `role` and `content`",
    ),
    "max_completion_tokens": (_int_at_least(1), "an integer >= 1"),
    "logprobs": (_is_bool, "a boolean"),
    "top_logprobs": (lambda v: _is_int(v) and 0 <= v <= 20, "an integer between 0 and 20"),
    "metadata": (_is_dict, "an object"),
    "response_format": (
        _is_response_format,
        "an object with `type` text, json_object or json_schema",
    ),
    "tools": (_is_list_of(_is_dict), "a list of tool objects"),
    "tool_choice": (_is_tool_choice, "auto, none, required or a function choice object"),
    "parallel_tool_calls": (_is_bool, "a boolean"),
    "reasoning_effort": (_is_str, "a string"),
}

COMPLETION_FIELDS: dict[str, tuple[Check, str]] = {
    **_SAMPLING,
    "prompt": (_is_prompt, "a string or a list of strings"),
    "echo": (_is_bool, "a boolean"),
    "logprobs": (lambda v: _is_int(v) and 0 <= v <= 5, "an integer between 0 and 5"),
    "suffix": (_is_str, "a string"),
}

RESPONSES_FIELDS: dict[str, tuple[Check, str]] = {
    "input": (_is_input, "a string or a list of input items"),
    "instructions": (_is_str, "a string"),
    "max_output_tokens": (_int_at_least(1), "an integer >= 1"),
    "temperature": _SAMPLING["temperature"],
    "top_p": _SAMPLING["top_p"],
    "tools": (_is_list_of(_is_dict), "a list of tool objects"),
    "tool_choice": (_is_tool_choice, "auto, none, required or a function choice object"),
    "text": (_is_dict, "an object"),
    "stream": (_is_bool, "a boolean"),
    "metadata": (_is_dict, "an object"),
    "user": (_is_str, "a string"),
    "store": (_is_bool, "a boolean"),
}

TOKENIZE_FIELDS: dict[str, tuple[Check, str]] = {
    "prompt": (_is_str, "a string"),
    "messages": (
        lambda v: _is_list_of(_is_message)(v) and len(v) > 0,
        "a non-empty list of messages",
    ),
    "add_special_tokens": (_is_bool, "a boolean"),
    "add_generation_prompt": (_is_bool, "a boolean"),
    "return_token_strs": (_is_bool, "a boolean"),
}

DETOKENIZE_FIELDS: dict[str, tuple[Check, str]] = {
    "tokens": (lambda v: _is_list_of(lambda t: _is_int(t) and t >= 0)(v), "a list of token ids"),
}


def require_model(body: Mapping[str, Any]) -> str:
    """The `model` of a request body (400 when missing or not a string)."""
    model = body.get("model")
    if model is None or model == "":
        raise bad_request(
            "you must provide a model parameter", "model", "missing_required_parameter"
        )
    if not isinstance(model, str):
        raise bad_request("`model` must be a string", "model", "invalid_type")
    return model


def _check_fields(
    body: Mapping[str, Any], fields: Mapping[str, tuple[Check, str]], required: tuple[str, ...]
) -> None:
    for name in required:
        if body.get(name) is None:
            raise bad_request(
                f"missing required parameter: `{name}`", name, "missing_required_parameter"
            )
    for name, value in body.items():  # requests carry few fields; unknown ones pass through
        rule = fields.get(name)
        if rule is not None and value is not None and not rule[0](value):
            raise bad_request(f"`{name}` must be {rule[1]}", name, "invalid_type")


def _check_stream_rules(body: dict[str, Any]) -> None:
    if body.get("stream_options") is not None and body.get("stream") is not True:
        raise bad_request(
            "`stream_options` is only allowed when `stream` is true",
            "stream_options",
            "invalid_value",
        )
    if body.get("temperature") == 0 and (body.get("n") or 1) > 1:
        raise bad_request(
            "`n` must be 1 when `temperature` is 0 (greedy sampling gives one answer)",
            "n",
            "invalid_value",
        )


def _alias_max_tokens(body: dict[str, Any]) -> None:
    alias = body.pop("max_completion_tokens", None)
    if alias is None:
        return
    if body.get("max_tokens") not in (None, alias):
        raise bad_request(
            "`max_tokens` and `max_completion_tokens` disagree; send only one",
            "max_completion_tokens",
            "invalid_value",
        )
    body["max_tokens"] = alias


def validate_chat(body: dict[str, Any]) -> None:
    """Check a chat completions body in place (`max_completion_tokens` becomes `max_tokens`)."""
    _check_fields(body, CHAT_FIELDS, ("messages",))
    _check_stream_rules(body)
    _alias_max_tokens(body)


def validate_completion(body: dict[str, Any]) -> None:
    """Check a completions body."""
    _check_fields(body, COMPLETION_FIELDS, ("prompt",))
    _check_stream_rules(body)


def validate_responses(body: dict[str, Any]) -> None:
    """Check a responses body."""
    _check_fields(body, RESPONSES_FIELDS, ("input",))


def validate_tokenize(body: dict[str, Any]) -> None:
    """Check a tokenize body: exactly one of `prompt` and `messages`."""
    _check_fields(body, TOKENIZE_FIELDS, ())
    if (body.get("prompt") is None) == (body.get("messages") is None):
        raise bad_request("send exactly one of `prompt` and `messages`", "prompt", "invalid_value")


def validate_detokenize(body: dict[str, Any]) -> None:
    """Check a detokenize body."""
    _check_fields(body, DETOKENIZE_FIELDS, ("tokens",))
