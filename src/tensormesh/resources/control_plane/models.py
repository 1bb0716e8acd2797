"""`control_plane.models`: models deployed on the serverless gateway (`/v1/models`)."""

from __future__ import annotations

from typing_extensions import Unpack

from tensormesh._endpoints import CONTROL_PLANE, Endpoint
from tensormesh._options import RequestOptions
from tensormesh._pagination import AsyncPager, NumberedPages, SyncPager
from tensormesh.types.control_plane import Empty
from tensormesh.types.operations import (
    Deployment,
    DeploymentList,
    DeploymentListParams,
    DeploymentListQuery,
    DeploymentReply,
    DeployParams,
    DeployRequest,
    ModelNameValidation,
    ModelNameValidationRequest,
)

from ._base import AsyncControlPlaneResource, ControlPlaneResource
from ._wire import body_params

__all__ = ["AsyncModels", "Models"]

PATH = "/v1/models"
LIST_MODELS: Endpoint[DeploymentList, None] = Endpoint(
    "GET", PATH, DeploymentList, surface=CONTROL_PLANE
)
GET_MODEL: Endpoint[DeploymentReply, None] = Endpoint(
    "GET", PATH + "/{model_id}", DeploymentReply, surface=CONTROL_PLANE
)
DEPLOY_MODEL: Endpoint[DeploymentReply, None] = Endpoint(
    "POST", PATH, DeploymentReply, surface=CONTROL_PLANE
)
DELETE_MODEL: Endpoint[Empty, None] = Endpoint(
    "DELETE", PATH + "/{model_id}", Empty, surface=CONTROL_PLANE
)
VALIDATE_NAME: Endpoint[ModelNameValidation, None] = Endpoint(
    "POST", PATH + ":validate", ModelNameValidation, surface=CONTROL_PLANE
)
PAGES = NumberedPages("models")


class Models(ControlPlaneResource):
    """Deployed models: list, get, deploy, delete, and check a name before deploying."""

    def list(self, **params: Unpack[DeploymentListParams]) -> DeploymentList:
        """GET /v1/models: one page (`.models`, `.page`, `.size`, `.total`)."""
        return self._fetch(LIST_MODELS, body_params(params, DeploymentListQuery))

    def auto_paging_iter(
        self, **params: Unpack[DeploymentListParams]
    ) -> SyncPager[DeploymentList, Deployment]:
        """Every deployed model, fetching pages lazily while iterating."""
        return SyncPager(self.list, PAGES, params)

    def get(self, model_id: str, **options: Unpack[RequestOptions]) -> DeploymentReply:
        """GET /v1/models/{model_id}: one deployment (`.model`) with its status events."""
        return self._fetch_at(GET_MODEL, options, model_id=model_id)

    def deploy(self, **params: Unpack[DeployParams]) -> DeploymentReply:
        """POST /v1/models: deploy a model (`engine` "embedded" or "openai" with
        `upstream_urls`); it starts as MODEL_STATUS_DEPLOYING."""
        return self._fetch(DEPLOY_MODEL, body_params(params, DeployRequest))

    def delete(self, model_id: str, **options: Unpack[RequestOptions]) -> Empty:
        """DELETE /v1/models/{model_id}: take a deployment down."""
        return self._fetch_at(DELETE_MODEL, options, model_id=model_id)

    def validate_name(
        self, model_name: str, **options: Unpack[RequestOptions]
    ) -> ModelNameValidation:
        """POST /v1/models:validate: whether `model_name` may be deployed (`.is_valid`)."""
        return self._fetch(VALIDATE_NAME, _validate_params(model_name, options))


class AsyncModels(AsyncControlPlaneResource):
    """Deployed models (async): the same methods as `Models`."""

    async def list(self, **params: Unpack[DeploymentListParams]) -> DeploymentList:
        """GET /v1/models: one page (`.models`, `.page`, `.size`, `.total`)."""
        return await self._fetch(LIST_MODELS, body_params(params, DeploymentListQuery))

    def auto_paging_iter(
        self, **params: Unpack[DeploymentListParams]
    ) -> AsyncPager[DeploymentList, Deployment]:
        """Every deployed model (`async for`), fetching pages lazily while iterating."""
        return AsyncPager(self.list, PAGES, params)

    async def get(self, model_id: str, **options: Unpack[RequestOptions]) -> DeploymentReply:
        """GET /v1/models/{model_id}: one deployment (`.model`) with its status events."""
        return await self._fetch_at(GET_MODEL, options, model_id=model_id)

    async def deploy(self, **params: Unpack[DeployParams]) -> DeploymentReply:
        """POST /v1/models: deploy a model; it starts as MODEL_STATUS_DEPLOYING."""
        return await self._fetch(DEPLOY_MODEL, body_params(params, DeployRequest))

    async def delete(self, model_id: str, **options: Unpack[RequestOptions]) -> Empty:
        """DELETE /v1/models/{model_id}: take a deployment down."""
        return await self._fetch_at(DELETE_MODEL, options, model_id=model_id)

    async def validate_name(
        self, model_name: str, **options: Unpack[RequestOptions]
    ) -> ModelNameValidation:
        """POST /v1/models:validate: whether `model_name` may be deployed (`.is_valid`)."""
        return await self._fetch(VALIDATE_NAME, _validate_params(model_name, options))


def _validate_params(model_name: str, options: RequestOptions) -> dict[str, object]:
    return body_params({"model_name": model_name, **options}, ModelNameValidationRequest)
