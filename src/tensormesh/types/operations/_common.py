"""Shared by the operations wire shapes: the fields of a numbered page (`page`, `size`, `total`)."""

from __future__ import annotations

from tensormesh.types.control_plane import ControlPlaneModel

__all__ = ["NumberedPageFields"]


class NumberedPageFields(ControlPlaneModel):
    """`page` (from 1), `size` and `total` of a numbered page; the list itself is in a subclass.

    None when the server left a counter out (protobuf-JSON omits zero values).
    """

    page: int | None = None
    size: int | None = None
    total: int | None = None
