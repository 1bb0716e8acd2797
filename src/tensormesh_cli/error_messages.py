"""Turn any exception that escapes a command into one line the user can act on."""

from __future__ import annotations

import errno
import sys
from typing import TYPE_CHECKING

from tensormesh_cli.errors import AuthRequired, CliError

if TYPE_CHECKING:
    from tensormesh_cli.settings import Settings
    from tensormesh_cli.state import CliState

_ERRNO_REASONS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "connection timed out",
}


def describe(exc: Exception, state: CliState | None) -> CliError:
    """The CliError (message and exit code) for `exc`."""
    sdk = sys.modules.get("tensormesh")  # an SDK error implies the SDK is imported
    if sdk is not None and isinstance(exc, sdk.TensormeshError):
        return _describe_sdk_error(exc, _settings_or_none(state))
    hint = "" if state is not None and state.debug else " (run with --debug for details)"
    return CliError(f"unexpected {type(exc).__name__}: {_one_line(str(exc))}{hint}")


def _describe_sdk_error(exc: Exception, settings: Settings | None) -> CliError:
    import tensormesh

    if isinstance(exc, tensormesh.AuthenticationError):
        return AuthRequired(_auth_message(exc, settings))
    if isinstance(exc, tensormesh.MissingCredentialError):
        return AuthRequired(_one_line(str(exc)))
    if isinstance(exc, tensormesh.APITimeoutError):
        timeout = f" within {settings.timeout_seconds:g} s" if settings else ""
        where = _surface(exc, settings)
        return CliError(f"the {where} did not answer{timeout} (change it with --timeout)")
    if isinstance(exc, tensormesh.APIConnectionError):
        return CliError(f"cannot reach the {_surface(exc, settings)}: {connection_reason(exc)}")
    return CliError(_one_line(str(exc)) or type(exc).__name__)


def connection_reason(exc: BaseException) -> str:
    """Why a connection failed, from the OS error underneath (e.g. "connection refused")."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _ERRNO_REASONS:
            return _ERRNO_REASONS[current.errno]
        if "refused" in str(current).lower():
            return "connection refused"
        current = current.__cause__ or current.__context__
    return _one_line(str(exc)) or "connection failed"


def _settings_or_none(state: CliState | None) -> Settings | None:
    if state is None:
        return None
    try:
        return state.settings
    except CliError:
        return None


def _surface(exc: Exception, settings: Settings | None) -> str:
    """Which API failed, with its URL: "serverless API at http://..."."""
    url = _request_url(exc)
    if settings is None:
        return f"API at {url}" if url else "API"
    if url and url.startswith(settings.controlplane_base):
        return f"control plane API at {settings.controlplane_base}"
    return f"serverless API at {settings.serverless_base}"


def _request_url(exc: Exception) -> str | None:
    """The URL of the failed request, when the error carries it (status errors do)."""
    request = getattr(exc, "request", None) or getattr(
        getattr(exc, "response", None), "request", None
    )
    url = getattr(request, "url", None)
    return str(url) if url is not None else None


def _auth_message(exc: Exception, settings: Settings | None) -> str:
    server_says = _one_line(str(exc))
    if settings is not None and _surface(exc, settings).startswith("control plane"):
        return (
            f"{server_says} — the control plane needs an access token: "
            "run `tm auth login` (or set TENSORMESH_CONTROL_PLANE_TOKEN)"
        )
    source = ""
    if settings is not None:
        resolved = settings.sources["gateway_api_key"]
        source = f" (the key from {resolved.origin})" if resolved.source != "default" else ""
    return (
        f"the serverless API rejected the inference API key{source}: {server_says} — "
        "set a valid key with TENSORMESH_INFERENCE_API_KEY or `gateway_api_key` under "
        "[overrides] in config.toml"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())
