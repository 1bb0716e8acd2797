"""Models, health and version of the serverless surface."""

from __future__ import annotations

from pydantic import Field

from ._base import TensormeshModel

__all__ = ["Health", "Model", "ModelList", "Version"]


class Model(TensormeshModel):
    """A model that can be passed as `model` (its `id`)."""

    id: str
    object: str = "model"
    created: int | None = None
    owned_by: str | None = None
    root: str | None = None
    parent: str | None = None
    max_model_len: int | None = None


class ModelList(TensormeshModel):
    object: str = "list"
    data: list[Model] = Field(default_factory=list)


class Health(TensormeshModel):
    status: str = ""


class Version(TensormeshModel):
    version: str = ""
