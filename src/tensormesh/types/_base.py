"""Base class of every wire model: unknown fields are kept, not dropped."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["TensormeshModel"]


class TensormeshModel(BaseModel):
    """A pydantic v2 model that keeps fields it does not declare (`extra="allow"`)."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    def to_dict(self) -> dict[str, object]:
        """The fields that were set (or received), as JSON-compatible data."""
        return self.model_dump(mode="json", exclude_unset=True)
