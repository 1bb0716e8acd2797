"""The audit trail (API.md §2 "activities"): `/v1/activities`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from tensormesh._options import RequestOptions
from tensormesh.types.control_plane import ControlPlaneModel, Timestamp

from ._common import NumberedPageFields

__all__ = [
    "Activity",
    "ActivityList",
    "ActivityListParams",
    "ActivityListQuery",
    "ActivityReply",
]


class Activity(ControlPlaneModel):
    """One recorded change: who (actor) did what (action) to which resource, and when."""

    activity_id: str = ""
    actor_type: str | None = None
    actor_id: str | None = None
    actor_display: str | None = None
    user_id: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    description: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    occurred_at: Timestamp | None = None
    recorded_at: Timestamp | None = None


class ActivityList(NumberedPageFields):
    """`{activities[], page, size, total}`: the reply of GET /v1/activities."""

    activities: list[Activity] = Field(default_factory=list)


class ActivityReply(ControlPlaneModel):
    """`{activity}`: the reply of GET /v1/activities/{activityId}."""

    activity: Activity


class ActivityListQuery(ControlPlaneModel):
    """Query of GET /v1/activities (times are RFC 3339 on the wire)."""

    user_id: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    page: int | None = Field(default=None, ge=1)
    size: int | None = Field(default=None, ge=1)


class ActivityListParams(RequestOptions, total=False):
    """Keyword arguments of `activities.list` and `.auto_paging_iter` (times: datetime or
    RFC 3339 string)."""

    user_id: str | None
    action: str | None
    resource_type: str | None
    resource_id: str | None
    start_time: datetime | str | None
    end_time: datetime | str | None
    page: int | None
    size: int | None
