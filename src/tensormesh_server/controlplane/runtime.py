"""Start-up of the Control Plane and of the database keys in `tm server up`: migrate, create
the first admin on an empty database (and say how to set its password), build the app."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from tensormesh_server.limits.settings import ENV_REDIS_URL
from tensormesh_server.models_config import SettingsError
from tensormesh_server.store.database import Database, DatabaseError, display_url

from . import operator
from .app import ControlPlaneApp, create_app
from .config import ENV_ACCESS_TOKEN_SECONDS, ENV_PUBLIC_URL, ControlPlaneConfig
from .context import ControlPlaneContext

logger = logging.getLogger("tensormesh_server")


def prepare_database(url: str, env: Mapping[str, str] = os.environ) -> Database:
    """Open and migrate the database; on an empty one create the first admin and tell the
    operator how to set its password. Raises DatabaseError with a one-line message."""
    db = Database(url)
    try:
        before, after = operator.migrate(db)
        if before != after:
            logger.info("database %s migrated to revision %s", display_url(url), after)
        else:
            logger.info("database %s (revision %s)", display_url(url), after)
        admin = operator.ensure_first_admin(db, operator.admin_email(env))
    except DatabaseError:
        db.dispose()
        raise
    if admin is not None:
        logger.info(
            "created the first admin %s (no password yet); set it with: "
            "tm server users set-password %s",
            admin.email,
            admin.email,
        )
        logger.info(
            "then sign in with `tm auth login`, or create an inference key right away with: "
            "tm server api-keys create --user %s",
            admin.email,
        )
    return db


def config_from_env(env: Mapping[str, str] = os.environ) -> ControlPlaneConfig:
    """The Control Plane settings that the environment may change."""
    public_url = env.get(ENV_PUBLIC_URL, "").strip() or None
    raw = env.get(ENV_ACCESS_TOKEN_SECONDS, "").strip()
    if raw and (not raw.isdigit() or int(raw) < 1):
        raise SettingsError(f"{ENV_ACCESS_TOKEN_SECONDS}={raw!r} is not a positive number")
    return ControlPlaneConfig(
        public_url=public_url,
        access_token_seconds=int(raw) if raw else ControlPlaneConfig.access_token_seconds,
        secure_cookies=bool(public_url and public_url.startswith("https://")),
    )


def build_app(
    db: Database, env: Mapping[str, str] = os.environ, static_models: tuple[str, ...] = ()
) -> ControlPlaneApp:
    """The Control Plane app over a prepared database (`static_models`: the ids of the models
    served from flags or a models file; the sign-in limits shared through TENSORMESH_REDIS_URL
    when it is set)."""
    redis_url = env.get(ENV_REDIS_URL, "").strip()
    context = ControlPlaneContext(
        db, config_from_env(env), static_models=static_models, redis_url=redis_url
    )
    return create_app(context)
