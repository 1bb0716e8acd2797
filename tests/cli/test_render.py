"""One rendering module for --output text|json|yaml|raw|table."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import pydantic
import pytest
import yaml

from tensormesh_cli.commands.infer.generation import format_usage
from tensormesh_cli.render import (
    View,
    color_enabled,
    emit,
    emit_stream_item,
    format_columns,
    format_text,
    to_plain,
    write_deltas,
)

ROWS = [
    {"id": "model-a", "max_model_len": 2048},
    {"id": "model-b", "max_model_len": 8192},
]
VIEW = View(data={"object": "list", "data": ROWS}, text="model-a\nmodel-b", rows=ROWS)


def test_json_is_the_data(capsys: pytest.CaptureFixture[str]) -> None:
    emit(VIEW, "json")
    assert json.loads(capsys.readouterr().out) == VIEW.data


def test_yaml_is_the_data(capsys: pytest.CaptureFixture[str]) -> None:
    emit(VIEW, "yaml")
    assert yaml.safe_load(capsys.readouterr().out) == VIEW.data


def test_raw_is_the_body_as_received_or_compact_json(capsys: pytest.CaptureFixture[str]) -> None:
    emit(View(data={"a": 1}, raw='{"a":   1}'), "raw")
    assert capsys.readouterr().out == '{"a":   1}\n'
    emit(View(data={"a": [1, 2]}), "raw")
    assert capsys.readouterr().out == '{"a":[1,2]}\n'


def test_text_uses_the_human_form(capsys: pytest.CaptureFixture[str]) -> None:
    emit(VIEW, "text")
    assert capsys.readouterr().out == "model-a\nmodel-b\n"
    emit(View(data={"status": "healthy", "n": None}), "text")
    assert capsys.readouterr().out == "status: healthy\nn: -\n"


def test_table_has_a_header_and_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    emit(VIEW, "table")
    out = capsys.readouterr().out
    assert "max_model_len" in out
    assert "model-b" in out
    assert "8192" in out
    assert "\x1b[" not in out  # no colour when stdout is not a terminal


def test_table_of_an_object_is_key_value_pairs(capsys: pytest.CaptureFixture[str]) -> None:
    emit(View(data={"version": "1.2.3"}), "table")
    out = capsys.readouterr().out
    assert "key" in out
    assert "1.2.3" in out


def test_to_plain_uses_what_the_server_sent() -> None:
    class Model(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="allow")
        id: str
        owned_by: str | None = None

    @dataclass
    class Pair:
        left: int
        right: Model

    assert to_plain(Model(id="m", extra_field=1)) == {"id": "m", "extra_field": 1}
    assert to_plain(Pair(1, Model(id="x"))) == {"left": 1, "right": {"id": "x"}}
    assert to_plain(("a", 2)) == ["a", 2]


def test_format_text_and_columns() -> None:
    assert format_text([{"a": 1}, {"a": {"b": 2}}]) == 'a: 1\n\na: {"b":2}'
    table = format_columns([{"check": "health", "status": "ok"}])
    assert table == "CHECK   STATUS\nhealth  ok"


def test_stream_items_are_json_lines_or_yaml_documents(capsys: pytest.CaptureFixture[str]) -> None:
    emit_stream_item({"delta": "a"}, "json")
    emit_stream_item({"delta": "b"}, "json")
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == [{"delta": "a"}, {"delta": "b"}]
    emit_stream_item({"delta": "c"}, "yaml")
    assert list(yaml.safe_load_all(capsys.readouterr().out)) == [{"delta": "c"}]


def test_write_deltas_prints_as_it_goes(capsys: pytest.CaptureFixture[str]) -> None:
    assert write_deltas(iter(["Hel", "lo"])) == "Hello"
    assert capsys.readouterr().out == "Hello\n"
    assert write_deltas(iter([])) == ""
    assert capsys.readouterr().out == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_color_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert color_enabled(_Terminal()) is True
    assert color_enabled(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert color_enabled(_Terminal()) is False


def test_usage_line() -> None:
    usage = {
        "prompt_tokens": 12,
        "completion_tokens": 30,
        "total_tokens": 42,
        "prompt_tokens_details": {"cached_tokens": 4},
    }
    assert format_usage(usage) == "usage: 12 prompt + 30 completion = 42 tokens (4 cached)"
    assert format_usage({"input_tokens": 3, "output_tokens": 5}) == (
        "usage: 3 prompt + 5 completion = 8 tokens"
    )
    assert format_usage(None) == "usage: not reported by the server"
