"""Query strings of the operations routes, read through the SDK's query models (camelCase or
snake_case names; 400 naming a bad value)."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel
from starlette.requests import Request

from .common import parse

Q = TypeVar("Q", bound=BaseModel)


def query(request: Request, model: type[Q]) -> Q:
    """The query string as `model` (repeated names: the last value wins)."""
    return parse(model, dict(request.query_params))
