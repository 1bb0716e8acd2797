"""`control_plane.activities`: the audit trail of changes (`/v1/activities`)."""

from __future__ import annotations

from typing_extensions import Unpack

from tensormesh._endpoints import CONTROL_PLANE, Endpoint
from tensormesh._options import RequestOptions
from tensormesh._pagination import AsyncPager, NumberedPages, SyncPager
from tensormesh.types.operations import (
    Activity,
    ActivityList,
    ActivityListParams,
    ActivityListQuery,
    ActivityReply,
)

from ._base import AsyncControlPlaneResource, ControlPlaneResource
from ._wire import body_params

__all__ = ["Activities", "AsyncActivities"]

LIST_ACTIVITIES: Endpoint[ActivityList, None] = Endpoint(
    "GET", "/v1/activities", ActivityList, surface=CONTROL_PLANE
)
GET_ACTIVITY: Endpoint[ActivityReply, None] = Endpoint(
    "GET", "/v1/activities/{activity_id}", ActivityReply, surface=CONTROL_PLANE
)
PAGES = NumberedPages("activities")


class Activities(ControlPlaneResource):
    """What changed, who changed it and when (filters: user, action, resource, time range)."""

    def list(self, **params: Unpack[ActivityListParams]) -> ActivityList:
        """GET /v1/activities: one page (`.activities`, `.page`, `.size`, `.total`); times are
        datetimes or RFC 3339 strings."""
        return self._fetch(LIST_ACTIVITIES, body_params(params, ActivityListQuery))

    def auto_paging_iter(
        self, **params: Unpack[ActivityListParams]
    ) -> SyncPager[ActivityList, Activity]:
        """Every matching activity, fetching pages lazily while iterating."""
        return SyncPager(self.list, PAGES, params)

    def get(self, activity_id: str, **options: Unpack[RequestOptions]) -> ActivityReply:
        """GET /v1/activities/{activity_id}: one activity (`.activity`)."""
        return self._fetch_at(GET_ACTIVITY, options, activity_id=activity_id)


class AsyncActivities(AsyncControlPlaneResource):
    """The audit trail (async): the same methods as `Activities`."""

    async def list(self, **params: Unpack[ActivityListParams]) -> ActivityList:
        """GET /v1/activities: one page (`.activities`, `.page`, `.size`, `.total`)."""
        return await self._fetch(LIST_ACTIVITIES, body_params(params, ActivityListQuery))

    def auto_paging_iter(
        self, **params: Unpack[ActivityListParams]
    ) -> AsyncPager[ActivityList, Activity]:
        """Every matching activity (`async for`), fetching pages lazily while iterating."""
        return AsyncPager(self.list, PAGES, params)

    async def get(self, activity_id: str, **options: Unpack[RequestOptions]) -> ActivityReply:
        """GET /v1/activities/{activity_id}: one activity (`.activity`)."""
        return await self._fetch_at(GET_ACTIVITY, options, activity_id=activity_id)
