"""Models deployed through the Control Plane (API.md §2 "Models"): `/v1/models`."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Annotated

from pydantic import Field
from typing_extensions import Required

from tensormesh._options import RequestOptions
from tensormesh.types.control_plane import ControlPlaneModel, Timestamp

from ._common import NumberedPageFields

__all__ = [
    "DeployParams",
    "DeployRequest",
    "Deployment",
    "DeploymentEvent",
    "DeploymentList",
    "DeploymentListParams",
    "DeploymentListQuery",
    "DeploymentReply",
    "DeploymentStatus",
    "Engine",
    "ModelNameValidation",
    "ModelNameValidationRequest",
]


class DeploymentStatus(str, enum.Enum):
    """Where a deployment is in its life."""

    DEPLOYING = "MODEL_STATUS_DEPLOYING"
    UP = "MODEL_STATUS_UP"
    DOWN = "MODEL_STATUS_DOWN"
    DELETED = "MODEL_STATUS_DELETED"

    def __str__(self) -> str:
        return self.value


class Engine(str, enum.Enum):
    """The engines of this project: the CPU model shipped with the server, or an upstream."""

    EMBEDDED = "embedded"
    OPENAI = "openai"

    def __str__(self) -> str:
        return self.value


Status = Annotated["DeploymentStatus | str", Field(union_mode="left_to_right")]
"""A `DeploymentStatus` when known, else the string as received (newer servers)."""


class DeploymentEvent(ControlPlaneModel):
    """One change of a deployment's state, with its reason (`log`)."""

    created_at: Timestamp | None = None
    log: str | None = None
    event_type: str | None = None


class Deployment(ControlPlaneModel):
    """A model deployed on the serverless gateway (`Model` in API.md)."""

    model_id: str = ""
    model_name: str | None = None
    description: str | None = None
    model_path: str | None = None
    status: Status | None = None
    events: list[DeploymentEvent] = Field(default_factory=list)
    endpoint: str | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    user_id: str | None = None
    engine: Engine | str | None = None
    upstream_urls: list[str] = Field(default_factory=list)
    max_model_len: int | None = None


class DeploymentList(NumberedPageFields):
    """`{models[], page, size, total}`: the reply of GET /v1/models."""

    models: list[Deployment] = Field(default_factory=list)


class DeploymentReply(ControlPlaneModel):
    """`{model}`: the reply of GET and POST /v1/models."""

    model: Deployment


class DeploymentListQuery(ControlPlaneModel):
    """Query of GET /v1/models."""

    user_id: str | None = None
    page: int | None = Field(default=None, ge=1)
    size: int | None = Field(default=None, ge=1)


class DeployRequest(ControlPlaneModel):
    """Body of POST /v1/models."""

    model_name: str
    description: str | None = None
    model_path: str | None = None
    engine: Engine | str | None = None
    upstream_urls: list[str] | None = None
    max_model_len: int | None = Field(default=None, ge=1)


class ModelNameValidationRequest(ControlPlaneModel):
    """Body of POST /v1/models:validate."""

    model_name: str


class ModelNameValidation(ControlPlaneModel):
    """`{isValid}`: whether a model name may be deployed."""

    is_valid: bool = False
    reason: str | None = None
    """Why the name cannot be used (this server's addition)."""


class DeploymentListParams(RequestOptions, total=False):
    """Keyword arguments of `models.list` and `models.auto_paging_iter`."""

    user_id: str | None
    page: int | None
    size: int | None


class DeployParams(RequestOptions, total=False):
    """Keyword arguments of `models.deploy` (`model_name` is required)."""

    model_name: Required[str]
    description: str | None
    model_path: str | None
    engine: Engine | str | None
    upstream_urls: Sequence[str] | None
    max_model_len: int | None
