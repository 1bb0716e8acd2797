"""`control_plane.auth.cli`: the browser login of command-line tools (no credential needed).

`start()` gives the page to open and the code to compare, `exchange(cli_code=)` is polled until
the user approves (None while pending), `refresh(refresh_token=)` trades a refresh token for a
new token set (refresh tokens rotate: the old one stops working).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError
from typing_extensions import Unpack

from tensormesh._endpoints import CONTROL_PLANE, Endpoint
from tensormesh._exceptions import ProtocolError
from tensormesh._options import RequestOptions
from tensormesh._resource import Mode
from tensormesh._response import RawResponse
from tensormesh.types.control_plane import CliStart, TokenSet

from ._base import AsyncControlPlaneResource, ControlPlaneResource

if TYPE_CHECKING:
    from tensormesh._transport import AsyncTransport, SyncTransport

__all__ = ["AsyncAuth", "AsyncCliAuth", "Auth", "CliAuth"]

CLI_START: Endpoint[CliStart, None] = Endpoint(
    "POST", "/auth/cli/start", CliStart, surface=CONTROL_PLANE, needs_auth=False
)
CLI_EXCHANGE: Endpoint[Any, None] = Endpoint(
    "POST", "/auth/cli/exchange", None, surface=CONTROL_PLANE, needs_auth=False
)
CLI_REFRESH: Endpoint[TokenSet, None] = Endpoint(
    "POST", "/auth/cli/refresh", TokenSet, surface=CONTROL_PLANE, needs_auth=False
)
PENDING = 202


def token_set_or_pending(raw: RawResponse[Any]) -> TokenSet | None:
    """The token set of an exchange reply, or None while the login waits for approval (202)."""
    if raw.status_code == PENDING:
        return None
    try:
        return TokenSet.model_validate(raw.json())
    except ValidationError as exc:
        raise ProtocolError(
            f"the {raw.status_code} reply to POST /auth/cli/exchange is not a token set: "
            f"{str(exc).splitlines()[0]}",
            request_id=raw.request_id,
        ) from None


class CliAuth(ControlPlaneResource):
    """Browser login for command-line tools: start, poll exchange, refresh."""

    def start(self, **options: Unpack[RequestOptions]) -> CliStart:
        """POST /auth/cli/start: `auth_url` to open, `cli_code` to compare, `interval` to poll."""
        return self._fetch(CLI_START, options)

    def exchange(self, *, cli_code: str, **options: Unpack[RequestOptions]) -> TokenSet | None:
        """POST /auth/cli/exchange: the tokens once approved, None while pending.

        Raises PermissionDeniedError when the user denied, BadRequestError/NotFoundError when
        the code is unknown, expired or used, RateLimitError when polled too fast.
        """
        raw = self._with_mode(Mode.RAW)._fetch(CLI_EXCHANGE, {"cli_code": cli_code, **options})
        return token_set_or_pending(cast("RawResponse[Any]", raw))

    def refresh(self, *, refresh_token: str, **options: Unpack[RequestOptions]) -> TokenSet:
        """POST /auth/cli/refresh: a new token set (`refresh_token` may be omitted: keep yours)."""
        return self._fetch(CLI_REFRESH, {"refresh_token": refresh_token, **options})


class AsyncCliAuth(AsyncControlPlaneResource):
    """Browser login for command-line tools (async)."""

    async def start(self, **options: Unpack[RequestOptions]) -> CliStart:
        """POST /auth/cli/start: `auth_url` to open, `cli_code` to compare, `interval` to poll."""
        return await self._fetch(CLI_START, options)

    async def exchange(
        self, *, cli_code: str, **options: Unpack[RequestOptions]
    ) -> TokenSet | None:
        """POST /auth/cli/exchange: the tokens once approved, None while pending."""
        raw = await self._with_mode(Mode.RAW)._fetch(
            CLI_EXCHANGE, {"cli_code": cli_code, **options}
        )
        return token_set_or_pending(cast("RawResponse[Any]", raw))

    async def refresh(self, *, refresh_token: str, **options: Unpack[RequestOptions]) -> TokenSet:
        """POST /auth/cli/refresh: a new token set (`refresh_token` may be omitted: keep yours)."""
        return await self._fetch(CLI_REFRESH, {"refresh_token": refresh_token, **options})


class Auth:
    """Authentication routes of the Control Plane (`cli`: the browser login)."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    @cached_property
    def cli(self) -> CliAuth:
        """Browser login for command-line tools."""
        return CliAuth(self._transport)


class AsyncAuth:
    """Authentication routes of the Control Plane (async)."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    @cached_property
    def cli(self) -> AsyncCliAuth:
        """Browser login for command-line tools."""
        return AsyncCliAuth(self._transport)
