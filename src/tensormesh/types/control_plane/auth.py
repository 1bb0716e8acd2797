"""The CLI browser login (API.md §2 "CLI browser login"). These bodies are snake_case on the
wire, like OAuth token responses, so they use the plain base model."""

from __future__ import annotations

from pydantic import Field

from tensormesh.types._base import TensormeshModel

__all__ = ["CliExchangeRequest", "CliStart", "RefreshRequest", "TokenSet"]


class CliStart(TensormeshModel):
    """Reply of POST /auth/cli/start: open `auth_url`, check `cli_code`, poll every `interval` s."""

    auth_url: str
    cli_code: str
    interval: float = 2


class CliExchangeRequest(TensormeshModel):
    """Body of POST /auth/cli/exchange."""

    cli_code: str


class RefreshRequest(TensormeshModel):
    """Body of POST /auth/cli/refresh."""

    refresh_token: str = Field(repr=False)


class TokenSet(TensormeshModel):
    """The tokens from an approved login or a refresh. `refresh_token` may be omitted by a
    refresh reply, in which case a client keeps the one it has."""

    access_token: str = Field(repr=False)
    refresh_token: str | None = Field(default=None, repr=False)
    token_type: str = "Bearer"
    expires_in: int | None = None
