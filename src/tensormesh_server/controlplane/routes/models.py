"""`/v1/models`: deployments of the serverless gateway (list, get, deploy, delete, validate)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tensormesh.types.control_plane import Empty
from tensormesh.types.operations import (
    DeploymentList,
    DeploymentListQuery,
    DeploymentReply,
    DeployRequest,
    ModelNameValidation,
    ModelNameValidationRequest,
)
from tensormesh_server.controlplane.services import deployments, paging
from tensormesh_server.store.models import User

from .common import as_user, context, json_object, parse, reply
from .queries import query


async def list_models(request: Request) -> Response:
    """A page of deployments (own; an admin sees all, or `userId`'s)."""
    params = query(request, DeploymentListQuery)
    page = paging.Page.of(params.page, params.size)

    def run(session: Session, actor: User, _now: datetime) -> DeploymentList:
        rows, total = deployments.listing(session, actor, params.user_id, page)
        return DeploymentList(
            models=[deployments.deployment_model(row) for row in rows],
            page=page.page,
            size=page.size,
            total=total,
        )

    return reply(await as_user(request, run))


async def get_model(request: Request) -> Response:
    """One deployment with its status events."""
    model_id = str(request.path_params["model_id"])

    def run(session: Session, actor: User, _now: datetime) -> DeploymentReply:
        row = deployments.visible(session, actor, model_id)
        model = deployments.deployment_model(row, deployments.events_of(session, row.id))
        return DeploymentReply(model=model)

    return reply(await as_user(request, run))


async def deploy_model(request: Request) -> Response:
    """Deploy a model (admins; `userId` names the owner)."""
    body = await json_object(request)
    deploy = parse(DeployRequest, body)
    owner = body.get("userId", body.get("user_id"))
    static = context(request).static_models

    def run(session: Session, actor: User, now: datetime) -> DeploymentReply:
        owner_id = str(owner) if owner else None
        row = deployments.deploy(session, actor, deploy, owner_id, now, static)
        model = deployments.deployment_model(row, deployments.events_of(session, row.id))
        return DeploymentReply(model=model)

    return reply(await as_user(request, run))


async def delete_model(request: Request) -> Response:
    """Undeploy (owner or admin)."""
    model_id = str(request.path_params["model_id"])

    def run(session: Session, actor: User, now: datetime) -> Empty:
        deployments.remove(session, actor, model_id, now)
        return Empty()

    return reply(await as_user(request, run))


async def validate_name(request: Request) -> Response:
    """Whether a name may be deployed now (well formed and not taken)."""
    body = parse(ModelNameValidationRequest, await json_object(request))
    static = context(request).static_models

    def run(session: Session, _actor: User, _now: datetime) -> ModelNameValidation:
        problem = deployments.name_problem(session, body.model_name.strip(), static)
        return ModelNameValidation(is_valid=problem is None, reason=problem)

    return reply(await as_user(request, run))


routes = [
    Route("/v1/models:validate", validate_name, methods=["POST"]),
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models", deploy_model, methods=["POST"]),
    Route("/v1/models/{model_id}", get_model, methods=["GET"]),
    Route("/v1/models/{model_id}", delete_model, methods=["DELETE"]),
]
