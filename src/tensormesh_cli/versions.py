"""Versions of the pieces `tm version` reports."""

from __future__ import annotations

import platform


def cli_version() -> str:
    """The installed distribution's version (the CLI ships with the SDK)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tensormesh")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return sdk_version()


def sdk_version() -> str:
    from tensormesh import __version__

    return str(__version__)


def python_version() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}"
