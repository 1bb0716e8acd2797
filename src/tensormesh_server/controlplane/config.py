"""Settings of the Control Plane (lifetimes, limits), with the project's defaults."""

from __future__ import annotations

from dataclasses import dataclass

from tensormesh.types.control_plane import UserRole

DEFAULT_ADMIN_EMAIL = "admin@localhost"
ENV_ADMIN_EMAIL = "TENSORMESH_ADMIN_EMAIL"
ENV_PUBLIC_URL = "TENSORMESH_CONTROLPLANE_PUBLIC_URL"
ENV_ACCESS_TOKEN_SECONDS = "TENSORMESH_ACCESS_TOKEN_SECONDS"


@dataclass(frozen=True)
class ControlPlaneConfig:
    """How long credentials live and how many failures are tolerated."""

    public_url: str | None = None
    """Base URL of the sign-in page in `auth_url` (default: the URL the request came to)."""
    access_token_seconds: int = 3600
    refresh_token_seconds: int = 30 * 24 * 3600
    login_code_seconds: int = 600
    poll_interval_seconds: int = 2
    browser_session_seconds: int = 12 * 3600
    sign_in_failures: int = 5
    """Failed sign-ins allowed per email and IP within `sign_in_window_seconds`."""
    sign_in_window_seconds: float = 900.0
    exchange_failures: int = 20
    """Unknown or expired login codes allowed per IP within `exchange_window_seconds`."""
    exchange_window_seconds: float = 300.0
    starts_per_window: int = 60
    """Logins one IP may start within `start_window_seconds`."""
    start_window_seconds: float = 600.0
    secure_cookies: bool = False


ADMIN_ROLES = frozenset({UserRole.ADMIN.value, UserRole.SUPER_ADMIN.value})
ALL_ROLES = tuple(role.value for role in UserRole)
