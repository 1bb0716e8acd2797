"""Tensormesh Python SDK (under construction)."""

from ._version import __version__

__all__ = ["__version__"]
