"""How `tm infer` turns flags, --json, --file and stdin into a request."""

from __future__ import annotations

import pytest

from tensormesh_cli.commands.infer.doctor import FAIL, OK, Check, readiness_exit_code
from tensormesh_cli.commands.infer.generation import assemble_request
from tensormesh_cli.commands.infer.model_choice import only_model
from tensormesh_cli.commands.infer.request_input import chat_messages, split_request
from tensormesh_cli.errors import InputError

USER = {"role": "user", "content": "hi"}


def test_a_messages_array_is_the_conversation() -> None:
    body = split_request([USER], "messages")
    assert body.model is None
    assert chat_messages(body.primary, prompt=None, system=None) == [USER]


def test_a_full_request_object_is_split() -> None:
    body = split_request(
        {"model": "m", "messages": [USER], "stream": True, "top_k": 5, "max_tokens": 9},
        "messages",
    )
    assert (body.model, body.stream, body.primary) == ("m", True, [USER])
    assert body.extra == {"top_k": 5, "max_tokens": 9}


def test_system_goes_first_and_prompt_last() -> None:
    messages = chat_messages([USER], prompt="and then?", system="be brief")
    assert messages[0] == {"role": "system", "content": "be brief"}
    assert messages[-1] == {"role": "user", "content": "and then?"}


def test_piped_text_is_a_user_turn() -> None:
    assert chat_messages("hello there", prompt=None, system=None) == [
        {"role": "user", "content": "hello there"}
    ]


@pytest.mark.parametrize(
    ("payload", "primary_key"),
    [
        ({"model": "m"}, "messages"),
        ({"model": 3, "messages": []}, "messages"),
        ({"messages": [], "stream": "yes"}, "messages"),
    ],
)
def test_unusable_request_objects(payload: object, primary_key: str) -> None:
    with pytest.raises(InputError):
        split_request(payload, primary_key)


def test_nothing_to_send_is_an_input_error() -> None:
    with pytest.raises(InputError, match="nothing to send"):
        chat_messages(None, prompt=None, system="only a system message")


def test_flags_win_and_other_fields_pass_through() -> None:
    request = assemble_request(
        {"model": "m", "messages": [USER]},
        {"max_tokens": 5},
        {"max_tokens": 100, "top_k": 3},
        include_usage=True,
    )
    assert request == {
        "model": "m",
        "messages": [USER],
        "max_tokens": 5,
        "stream_options": {"include_usage": True},
        "extra_body": {"top_k": 3},
    }


def test_a_request_keeps_its_own_stream_options() -> None:
    own = {"include_usage": False}
    request = assemble_request({"model": "m"}, {}, {"stream_options": own}, include_usage=True)
    assert request == {"model": "m", "stream_options": own}


def test_the_only_model_is_chosen() -> None:
    assert only_model(["solo"]) == "solo"
    with pytest.raises(InputError, match="a, b"):
        only_model(["a", "b"])
    with pytest.raises(InputError, match="none"):
        only_model([])


def test_doctor_exit_code_says_whether_only_the_key_is_wrong() -> None:
    ok = Check("reachable", OK, "")
    key = Check("api key accepted", FAIL, "401", auth=True)
    down = Check("reachable", FAIL, "connection refused")
    assert readiness_exit_code([ok, key]) == 4
    assert readiness_exit_code([down, key]) == 1
    assert readiness_exit_code([down]) == 1
