"""Shared by the Control Plane resources: keyword arguments (snake_case) to wire names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from tensormesh._exceptions import TensormeshError
from tensormesh._request import split_options
from tensormesh.types.control_plane import ControlPlaneModel

__all__ = ["body_params", "query_params"]


def body_params(params: Mapping[str, Any], model: type[ControlPlaneModel]) -> dict[str, Any]:
    """The per-call options as given, plus the fields checked by `model` under their wire names
    (only the fields that were given are sent)."""
    fields, options = split_options(params)
    try:
        body = model.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or model.__name__
        raise TensormeshError(f"invalid {where}: {first['msg']}") from None
    return {**body.model_dump(mode="json", by_alias=True, exclude_unset=True), **options}


def query_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The per-call options as given, plus the query fields under their wire (camelCase) names."""
    fields, options = split_options(params)
    return {**{to_camel(key): value for key, value in fields.items()}, **options}
