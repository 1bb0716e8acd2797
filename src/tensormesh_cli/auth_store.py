"""auth.json: the control-plane logins of `tm auth login`, one per control-plane base URL.

A token is only ever sent to the base URL it was issued by. The file is replaced atomically
with mode 0600 (files.write_private_file), and a refresh holds a lock so that two `tm`
processes never spend the same (rotating) refresh token twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tensormesh_cli.config_file import config_home
from tensormesh_cli.errors import CliError
from tensormesh_cli.files import PRIVATE_FILE_MODE, write_private_file

AUTH_FILE_NAME = "auth.json"
FORMAT_VERSION = 1
EXPIRY_MARGIN_SECONDS = 60.0  # refresh this long before the access token expires


def auth_path(environ: Mapping[str, str]) -> Path:
    """`$TM_CONFIG_HOME/auth.json`, else `~/.config/tensormesh/auth.json`."""
    return config_home(environ) / AUTH_FILE_NAME


@dataclass(frozen=True)
class Login:
    """The tokens of one control plane (`controlplane_base`) and who they belong to."""

    controlplane_base: str
    access_token: str
    refresh_token: str | None
    token_type: str = "Bearer"
    expires_at: float | None = None  # seconds since the epoch; None: unknown
    user_email: str | None = None

    def expired(self, now: float, margin: float = EXPIRY_MARGIN_SECONDS) -> bool:
        """Whether the access token has expired, or will within `margin` seconds."""
        return self.expires_at is not None and now >= self.expires_at - margin

    def with_tokens(
        self, access_token: str, refresh_token: str | None, expires_in: float | None, now: float
    ) -> Login:
        """This login after a refresh; a reply without a refresh token keeps the current one."""
        return replace(
            self,
            access_token=access_token,
            refresh_token=refresh_token or self.refresh_token,
            expires_at=None if expires_in is None else now + expires_in,
        )


def new_login(
    controlplane_base: str,
    access_token: str,
    refresh_token: str | None,
    expires_in: float | None,
    now: float,
    token_type: str = "Bearer",
) -> Login:
    """A login from the token set of an approved browser login."""
    return Login(
        controlplane_base=controlplane_base,
        access_token=access_token,
        refresh_token=refresh_token,
        token_type=token_type,
        expires_at=None if expires_in is None else now + expires_in,
    )


def _to_json(login: Login) -> dict[str, Any]:
    data = asdict(login)
    del data["controlplane_base"]  # the key of the entry
    if login.expires_at is not None:
        data["expires_at"] = (
            datetime.fromtimestamp(login.expires_at, timezone.utc)
            .isoformat(timespec="seconds")
            .replace("+00:00", "Z")
        )
    return {key: value for key, value in data.items() if value is not None}


def _from_json(base: str, data: Any) -> Login:
    if not isinstance(data, Mapping) or not isinstance(data.get("access_token"), str):
        raise ValueError(f"the entry of {base} has no access_token")
    expires_at = data.get("expires_at")
    if isinstance(expires_at, str):
        expires_at = datetime.fromisoformat(expires_at.replace("Z", "+00:00")).timestamp()
    elif expires_at is not None and not isinstance(expires_at, (int, float)):
        raise ValueError(f"the entry of {base} has an invalid expires_at")
    return Login(
        controlplane_base=base,
        access_token=data["access_token"],
        refresh_token=_optional_text(data.get("refresh_token")),
        token_type=_optional_text(data.get("token_type")) or "Bearer",
        expires_at=None if expires_at is None else float(expires_at),
        user_email=_optional_text(data.get("user_email")),
    )


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class AuthStore:
    """Reads and writes auth.json (`path`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def logins(self) -> dict[str, Login]:
        """Every saved login by control-plane base URL; a CliError naming the file if unreadable."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {self.path}: {exc}") from None
        try:
            data = json.loads(text)
            entries = data.get("logins", {}) if isinstance(data, dict) else None
            if not isinstance(entries, dict):
                raise ValueError("no `logins` object")
            return {base: _from_json(base, entry) for base, entry in entries.items()}
        except ValueError as exc:
            raise CliError(
                f"malformed {self.path}: {exc} (run `tm auth login` to replace it)"
            ) from None

    def get(self, controlplane_base: str) -> Login | None:
        return self.logins().get(controlplane_base)

    def save(self, login: Login, *, replace_unreadable: bool = False) -> None:
        """Add or replace the login of `login.controlplane_base` (other logins are kept)."""
        try:
            logins = self.logins()
        except CliError:
            if not replace_unreadable:
                raise
            logins = {}
        logins[login.controlplane_base] = login
        self._write(logins)

    def remove(self, controlplane_base: str | None) -> list[str]:
        """Forget the login of one base URL (None: every login); return the bases removed."""
        logins = self.logins()
        removed = [base for base in logins if controlplane_base in (None, base)]
        if removed:
            self._write({b: login for b, login in logins.items() if b not in removed})
        return removed

    def _write(self, logins: Mapping[str, Login]) -> None:
        document = {
            "version": FORMAT_VERSION,
            "logins": {base: _to_json(login) for base, login in logins.items()},
        }
        write_private_file(self.path, json.dumps(document, indent=2) + "\n")

    @contextlib.contextmanager
    def locked(self, timeout: float = 30.0) -> Iterator[None]:
        """Hold an exclusive lock on auth.json's lock file (no-op where flock does not exist)."""
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; refreshes are rare enough
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self.path.with_name(f".{self.path.name}.lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise CliError(
                            f"{lock_path} stayed locked for {timeout:g} s by another `tm`"
                        ) from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)  # closing releases the lock
