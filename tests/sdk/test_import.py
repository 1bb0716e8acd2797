"""`import tensormesh` stays light: heavy modules load only when a client is used."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tensormesh


def test_import_does_not_load_httpx2_or_pydantic() -> None:
    code = (
        "import sys, tensormesh; "
        "print(sorted(m for m in ('httpx2', 'pydantic', 'tensormesh._client') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lazy_names_resolve() -> None:
    assert tensormesh.Tensormesh.__name__ == "Tensormesh"
    assert tensormesh.AsyncStream.__name__ == "AsyncStream"
    assert "Tensormesh" in dir(tensormesh)
    with pytest.raises(AttributeError, match="DoesNotExist"):
        tensormesh.DoesNotExist  # type: ignore[attr-defined]  # noqa: B018
