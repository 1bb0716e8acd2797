"""The security matrix on every route of both surfaces, enumerated from the route tables (so a
new route cannot be missed) and checked against the OpenAPI documents: no credential, the wrong
kind of credential, an expired or revoked one, a non-admin on admin routes, another user's
resource. Public routes are listed explicitly."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from starlette.routing import Route

from tensormesh_server.app import ServerlessApp
from tensormesh_server.controlplane.app import ControlPlaneApp
from tensormesh_server.controlplane.login_page import SCRIPT_PATH
from tensormesh_server.controlplane.routes.auth import AUTHORIZE_PATH

from .conftest import MODEL, Stack
from .figures import count, detail

pytestmark = pytest.mark.slow

CP_PUBLIC = {
    ("POST", "/auth/cli/start"),
    ("POST", "/auth/cli/exchange"),
    ("POST", "/auth/cli/refresh"),
    ("GET", AUTHORIZE_PATH),
    ("POST", AUTHORIZE_PATH),
    ("GET", SCRIPT_PATH),
    ("GET", "/openapi.json"),
    ("GET", "/version"),
    ("GET", "/metrics"),
}
SERVERLESS_PUBLIC = {
    ("GET", "/v1/models"),
    ("GET", "/health"),
    ("GET", "/version"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    """The route's template, `{name}` for each path parameter."""

    def url(self, user_id: str) -> str:
        """The path with `{user_id}` set to `user_id` and any other parameter to an unknown id."""
        path = self.path.replace("{user_id}", user_id)
        return re.sub(r"\{[^}]+\}", "no-such-id", path)

    @property
    def admin(self) -> bool:
        return "/admin/" in self.path or self == Endpoint("DELETE", "/v1/products/{product_id}")


def _cp_endpoints() -> list[Endpoint]:
    app = ControlPlaneApp(None)  # type: ignore[arg-type]  # only the route table is read
    found = []
    for route in app.app.routes:
        assert isinstance(route, Route)
        found += [Endpoint(m, route.path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return found


def _serverless_endpoints() -> list[Endpoint]:
    app = ServerlessApp({}, None, "0")  # type: ignore[arg-type]  # only the route table is read
    return [Endpoint(method, path) for method, path in app.routes]


@pytest.fixture(autouse=True)
def _counted() -> None:
    count("security matrix cases")


CP = _cp_endpoints()
SERVERLESS = _serverless_endpoints()
CP_SECURED = [e for e in CP if (e.method, e.path) not in CP_PUBLIC]
SERVERLESS_SECURED = [e for e in SERVERLESS if (e.method, e.path) not in SERVERLESS_PUBLIC]


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _documented(url: str) -> set[tuple[str, str]]:
    spec: dict[str, Any] = httpx2.get(url + "/openapi.json", timeout=10).json()
    return {(m.upper(), _template(p)) for p, ops in spec["paths"].items() for m in ops}


def test_every_route_is_in_the_matrix_and_documented_or_public(stack: Stack) -> None:
    detail(
        f"security matrix ({stack.backend}): control plane {len(CP_SECURED)} secured routes x "
        f"{len(CREDENTIALS)} bad credentials + roles + {len(OWNED)} owned; serverless "
        f"{len(SERVERLESS_SECURED)} secured x {len(SERVERLESS_CREDENTIALS)}; "
        f"{len(CP_PUBLIC) + len(SERVERLESS_PUBLIC)} public routes"
    )
    for url, endpoints, public in (
        (stack.server.controlplane_url, CP, CP_PUBLIC),
        (stack.server.serverless_url, SERVERLESS, SERVERLESS_PUBLIC),
    ):
        documented = _documented(url)
        routed = {(e.method, _template(e.path)) for e in endpoints}
        assert documented <= routed, f"documented but not routed: {documented - routed}"
        undocumented = routed - documented - {(m, _template(p)) for m, p in public}
        # PUT /v1/admin/products is an alias of the documented POST (upsert).
        assert undocumented <= {("PUT", "/v1/admin/products")}, undocumented
        assert {(m, p) for m, p in public} <= {(e.method, e.path) for e in endpoints}


def _call(url: str, endpoint: Endpoint, token: str | None, user_id: str, **kw: Any) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body = {"model": MODEL} if endpoint.method in ("POST", "PUT") else None
    return httpx2.request(
        endpoint.method,
        url + endpoint.url(user_id),
        headers=headers,
        json=body,
        timeout=10,
        **kw,
    )


CREDENTIALS = ("none", "inference_key", "expired_token", "revoked_token")


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize("endpoint", CP_SECURED, ids=lambda e: f"{e.method} {e.path}")
def test_control_plane_refuses_bad_credentials(
    stack: Stack, endpoint: Endpoint, credential: str
) -> None:
    token = {
        "none": None,
        "inference_key": stack.user_key,
        "expired_token": stack.expired_token,
        "revoked_token": stack.revoked_token,
    }[credential]
    reply = _call(stack.server.controlplane_url, endpoint, token, stack.user_id)
    assert reply.status_code == 401, reply.text
    assert set(reply.json()) >= {"code", "message"}


@pytest.mark.parametrize("endpoint", CP_SECURED, ids=lambda e: f"{e.method} {e.path}")
def test_control_plane_roles(stack: Stack, endpoint: Endpoint) -> None:
    as_user = _call(stack.server.controlplane_url, endpoint, stack.user_token, stack.user_id)
    as_admin = _call(stack.server.controlplane_url, endpoint, stack.admin_token, stack.admin_id)
    assert as_admin.status_code not in (401, 403), as_admin.text
    if endpoint.admin:
        assert as_user.status_code == 403, as_user.text
    else:
        assert as_user.status_code not in (401, 403), as_user.text


OWNED = [e for e in CP_SECURED if not e.admin and e.method == "GET"]


@pytest.mark.parametrize("endpoint", OWNED, ids=lambda e: f"{e.method} {e.path}")
def test_control_plane_hides_another_users_resources(stack: Stack, endpoint: Endpoint) -> None:
    url = stack.server.controlplane_url
    if "{user_id}" in endpoint.path:
        reply = _call(url, endpoint, stack.user_token, stack.other_id)
    else:
        reply = _call(
            url, endpoint, stack.user_token, stack.user_id, params={"userId": stack.other_id}
        )
        if reply.status_code == 200:  # the route takes no userId: it only ever shows the caller's
            assert stack.other_id not in reply.text
            return
    assert reply.status_code in (403, 404), reply.text


SERVERLESS_CREDENTIALS = ("none", "control_plane_token", "revoked_key")


@pytest.mark.parametrize("credential", SERVERLESS_CREDENTIALS)
@pytest.mark.parametrize("endpoint", SERVERLESS_SECURED, ids=lambda e: f"{e.method} {e.path}")
def test_serverless_refuses_bad_credentials(
    stack: Stack, endpoint: Endpoint, credential: str
) -> None:
    token = {
        "none": None,
        "control_plane_token": stack.user_token,
        "revoked_key": stack.revoked_key,
    }[credential]
    reply = _call(stack.server.serverless_url, endpoint, token, stack.user_id)
    assert reply.status_code == 401, reply.text
    message = reply.json()["error"]["message"]
    assert "inference API key" in message
    if credential == "control_plane_token":
        assert "control-plane" in message
    good = _call(stack.server.serverless_url, endpoint, stack.user_key, stack.user_id)
    assert good.status_code != 401, good.text


@pytest.mark.parametrize(
    ("url_of", "public"),
    [("controlplane_url", CP_PUBLIC), ("serverless_url", SERVERLESS_PUBLIC)],
    ids=["control-plane", "serverless"],
)
def test_public_routes_need_no_credential(stack: Stack, url_of: str, public: set[Any]) -> None:
    for method, path in sorted(public):
        reply = httpx2.request(
            method, getattr(stack.server, url_of) + path, timeout=10, follow_redirects=False
        )
        # The login form's POST without its CSRF field is a 403 "form expired", not a 401.
        refused = (
            (401, 404, 405) if (method, path) == ("POST", AUTHORIZE_PATH) else (401, 403, 404, 405)
        )
        assert reply.status_code not in refused, (method, path, reply.text)
        assert reply.status_code < 500, (method, path, reply.text)
