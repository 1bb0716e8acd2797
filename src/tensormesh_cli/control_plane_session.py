"""The control-plane credential of one `tm` invocation, and the SDK client that carries it.

Where the token comes from: TENSORMESH_CONTROL_PLANE_TOKEN (used as is), else the login that
`tm auth login` saved in auth.json for the configured control-plane base URL. A saved access
token is refreshed before it expires, and once more when the server refuses it (401); the new
tokens are written to auth.json before they are used, and a refresh token is never dropped.
The CLI hands the token to the SDK explicitly: the SDK never reads CLI files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from tensormesh_cli.auth_store import AuthStore, Login, auth_path
from tensormesh_cli.errors import AuthRequired, CliError
from tensormesh_cli.settings import Settings
from tensormesh_cli.state import CONTROL_PLANE_TOKEN_ENV, CliState

if TYPE_CHECKING:
    from tensormesh import Tensormesh
    from tensormesh.resources.control_plane import ControlPlane
    from tensormesh.types.control_plane import TokenSet

T = TypeVar("T")
TOKEN_ENV = CONTROL_PLANE_TOKEN_ENV
ClientFactory = Callable[["str | None"], "Tensormesh"]


class ControlPlaneSession:
    """Gives commands a control-plane client with a valid token (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        store: AuthStore,
        client_factory: ClientFactory,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self._new_client = client_factory
        self._clock = clock
        self._clients: dict[str | None, Tensormesh] = {}

    @classmethod
    def for_state(cls, state: CliState) -> ControlPlaneSession:
        """The session of this invocation (closed with it)."""
        import click

        session = cls(
            state.settings,
            AuthStore(auth_path(state.environ)),
            state.new_client,
        )
        click.get_current_context().call_on_close(session.close)
        return session

    @property
    def base(self) -> str:
        return self.settings.controlplane_base

    @property
    def environment_token(self) -> str | None:
        """TENSORMESH_CONTROL_PLANE_TOKEN, which wins over auth.json."""
        token = self.settings.control_plane_token
        return token if isinstance(token, str) else None

    def saved_login(self) -> Login | None:
        """The login auth.json holds for this control plane."""
        return self.store.get(self.base)

    def not_logged_in(self) -> AuthRequired:
        return AuthRequired(
            f"not logged in to the control plane at {self.base}: run `tm auth login` "
            f"(or set {TOKEN_ENV})"
        )

    def client(self, token: str | None) -> Tensormesh:
        """A client carrying `token` (one per token, closed with the session)."""
        if token not in self._clients:
            self._clients[token] = self._new_client(token)
        return self._clients[token]

    def anonymous(self) -> ControlPlane:
        """The control plane without a credential (the login routes need none)."""
        return self.client(None).control_plane

    def access_token(self) -> str:
        """A token to send now: the environment's, else the saved one (refreshed if expired)."""
        if self.environment_token is not None:
            return self.environment_token
        login = self.saved_login()
        if login is None:
            raise self.not_logged_in()
        if login.expired(self._clock()):
            login = self.refresh(stale_token=login.access_token)
        return login.access_token

    def save_new_login(self, tokens: TokenSet) -> Login:
        """Save the tokens of an approved browser login (replacing this base's old login)."""
        from tensormesh_cli.auth_store import new_login

        login = new_login(
            self.base,
            tokens.access_token,
            tokens.refresh_token,
            tokens.expires_in,
            self._clock(),
            tokens.token_type,
        )
        self.store.save(login, replace_unreadable=True)
        return login

    def remember_user(self, email: str | None) -> None:
        """Note whose login this is (shown by `tm auth status`)."""
        from dataclasses import replace

        login = self.saved_login()
        if login is not None and email and login.user_email != email:
            self.store.save(replace(login, user_email=email))

    def refresh(self, stale_token: str | None = None) -> Login:
        """Trade the saved refresh token for new tokens, save them, return the new login.

        `stale_token`: the access token that expired or was refused; if another `tm` has
        refreshed it meanwhile, its result is used instead of spending the refresh token again.
        """
        import tensormesh

        with self.store.locked():
            current = self.saved_login()
            if current is None:
                raise self.not_logged_in()
            now = self._clock()
            replaced = stale_token is not None and current.access_token != stale_token
            if replaced and not current.expired(now):
                return current
            if not current.refresh_token:
                raise AuthRequired(
                    f"the saved login for {self.base} has no refresh token and its access "
                    "token has expired or was refused: run `tm auth login`"
                )
            try:
                tokens = self.anonymous().auth.cli.refresh(refresh_token=current.refresh_token)
            except (tensormesh.AuthenticationError, tensormesh.PermissionDeniedError) as exc:
                raise AuthRequired(
                    f"the saved login for {self.base} has expired or was revoked "
                    f"({_reason(exc)}): run `tm auth login`"
                ) from None
            except (tensormesh.BadRequestError, tensormesh.NotFoundError) as exc:
                raise AuthRequired(
                    f"the control plane refused the saved refresh token ({_reason(exc)}): "
                    "run `tm auth login`"
                ) from None
            refreshed = current.with_tokens(
                tokens.access_token, tokens.refresh_token, tokens.expires_in, now
            )
            self.store.save(refreshed)  # written before it is used
            return refreshed

    def call(self, operation: Callable[[ControlPlane], T]) -> T:
        """Run `operation` with an authenticated control plane; on a 401 with a saved login,
        refresh once and run it again. Connection failures name the control plane."""
        return self.reaching(lambda: self._call_with_refresh(operation))

    def reaching(self, action: Callable[[], T]) -> T:
        """Run `action`; a failure to reach the server becomes a CliError about the control
        plane (the CLI's generic messages cannot tell which surface a connection was for)."""
        import tensormesh

        try:
            return action()
        except tensormesh.APITimeoutError:
            raise CliError(
                f"the control plane API at {self.base} did not answer within "
                f"{self.settings.timeout_seconds:g} s (change it with --timeout)"
            ) from None
        except tensormesh.APIConnectionError as exc:
            from tensormesh_cli.error_messages import connection_reason

            raise CliError(
                f"cannot reach the control plane API at {self.base}: {connection_reason(exc)}"
            ) from None

    def _call_with_refresh(self, operation: Callable[[ControlPlane], T]) -> T:
        import tensormesh

        token = self.access_token()
        try:
            return operation(self.client(token).control_plane)
        except tensormesh.AuthenticationError as exc:
            if self.environment_token is not None:
                raise AuthRequired(
                    f"the control plane at {self.base} refused {TOKEN_ENV} ({_reason(exc)}): "
                    "set a valid token, or unset it and run `tm auth login`"
                ) from None
            token = self.refresh(stale_token=token).access_token
        try:
            return operation(self.client(token).control_plane)
        except tensormesh.AuthenticationError as exc:
            raise AuthRequired(
                f"the control plane at {self.base} refused the saved login ({_reason(exc)}): "
                "run `tm auth login`"
            ) from None

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return " ".join(str(message or exc).split())
