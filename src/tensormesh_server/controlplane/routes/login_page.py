"""`/auth/cli/authorize`: the browser page where a user signs in and approves or denies the
code of `tm auth login`. Every POST carries a CSRF token that must match the `tm_csrf` cookie
(double submit); the signed-in browser is an HttpOnly `tm_session` cookie whose token is stored
hashed."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, quote

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from tensormesh_server.controlplane import login_page as pages
from tensormesh_server.controlplane.services import logins, sessions
from tensormesh_server.controlplane.services.logins import LoginState
from tensormesh_server.security.credentials import new_session_token, same_secret
from tensormesh_server.security.login_codes import normalize_login_code
from tensormesh_server.store.models import User

from .auth import AUTHORIZE_PATH
from .common import client_ip, context, in_transaction

SESSION_COOKIE = "tm_session"
CSRF_COOKIE = "tm_csrf"
COOKIE_PATH = "/auth/cli"
MAX_FORM_BYTES = 16 * 1024
_HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
_STATE_PAGES = {
    LoginState.UNKNOWN: (404, "Unknown code", "This code is not known. Run `tm auth login` again."),
    LoginState.EXPIRED: (400, "Code expired", "This code has expired. Run `tm auth login` again."),
    LoginState.USED: (400, "Code already used", "This code was already used by a terminal."),
    LoginState.APPROVED: (200, "Already approved", "This code was already approved."),
    LoginState.DENIED: (200, "Already denied", "This code was denied."),
}


class _Page:
    """One response of the page, with its cookies."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.secure = context(request).config.secure_cookies
        self.csrf = request.cookies.get(CSRF_COOKIE) or ""
        self.csrf_is_new = not self.csrf
        if self.csrf_is_new:
            self.csrf = new_session_token()

    def _cookies(self, response: Response) -> Response:
        if self.csrf_is_new:
            response.set_cookie(
                CSRF_COOKIE,
                self.csrf,
                path=COOKIE_PATH,
                httponly=True,
                samesite="lax",
                secure=self.secure,
            )
        return response

    def html(self, content: str, status: int = 200) -> Response:
        return self._cookies(HTMLResponse(content, status_code=status, headers=_HEADERS))

    def redirect(
        self, code: str, session_token: str | None = None, sign_out: bool = False
    ) -> Response:
        target = f"{AUTHORIZE_PATH}?code={quote(code)}" if code else AUTHORIZE_PATH
        response = RedirectResponse(target, status_code=303, headers=_HEADERS)
        if session_token is not None:
            response.set_cookie(
                SESSION_COOKIE,
                session_token,
                max_age=context(self.request).config.browser_session_seconds,
                path=COOKIE_PATH,
                httponly=True,
                samesite="lax",
                secure=self.secure,
            )
        if sign_out:
            response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
        return self._cookies(response)

    def state(self, state: LoginState) -> Response:
        status, title, message = _STATE_PAGES[state]
        return self.html(pages.message_page(title, message), status)


async def _page_state(request: Request, code: str) -> tuple[LoginState, User | None]:
    token = request.cookies.get(SESSION_COOKIE)

    def run(session: Session, now: datetime) -> tuple[LoginState, User | None]:
        user = sessions.session_user(session, token, now=now)
        return logins.state_of(session, code, now=now), user

    return await in_transaction(request, run)


async def show(request: Request) -> Response:
    """GET: the code entry, sign-in or approve page, depending on the code and the session."""
    page = _Page(request)
    raw = request.query_params.get("code", "")
    if not raw.strip():
        return page.html(pages.enter_code_page())
    code = normalize_login_code(raw)
    if code is None:
        return page.html(pages.enter_code_page("That is not a login code (ABCD-EFGH)."), 400)
    state, user = await _page_state(request, code)
    if state is not LoginState.PENDING:
        return page.state(state)
    if user is None:
        return page.html(pages.sign_in_page(code, page.csrf))
    return page.html(pages.approve_page(code, page.csrf, user.email))


async def _form(request: Request) -> dict[str, str]:
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        return {}
    fields = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items() if values}


async def submit(request: Request) -> Response:
    """POST: sign in, approve, deny or sign out (CSRF-checked)."""
    page = _Page(request)
    form = await _form(request)
    presented = form.get("csrf_token", "")
    if page.csrf_is_new or not presented or not same_secret(presented, page.csrf):
        return page.html(
            pages.message_page(
                "Form expired", "The form could not be verified. Reload the page and try again."
            ),
            403,
        )
    code = normalize_login_code(form.get("code", "")) or ""
    action = form.get("action", "")
    if action == "sign-in":
        return await _sign_in(request, page, code, form)
    if action == "sign-out":
        token = request.cookies.get(SESSION_COOKIE)
        await in_transaction(
            request, lambda session, now: sessions.sign_out(session, token, now=now)
        )
        return page.redirect(code, sign_out=True)
    if action in ("approve", "deny") and code:
        return await _decide(request, page, code, approve=action == "approve")
    return page.html(pages.enter_code_page("Unknown action."), 400)


async def _sign_in(request: Request, page: _Page, code: str, form: dict[str, str]) -> Response:
    cp = context(request)
    email, password = form.get("email", "").strip(), form.get("password", "")
    limit_key = f"{email.lower()}|{client_ip(request)}"
    wait = await cp.sign_in_limiter.retry_after(limit_key)
    if wait is not None:
        content = pages.sign_in_page(
            code, page.csrf, email, f"Too many failed sign-ins. Try again in {wait} seconds."
        )
        response = page.html(content, 429)
        response.headers["retry-after"] = str(wait)
        return response

    def run(session: Session, now: datetime) -> tuple[User, str] | None:
        return sessions.sign_in(session, email, password, now=now, config=cp.config)

    signed_in = await in_transaction(request, run)
    if signed_in is None:
        await cp.sign_in_limiter.fail(limit_key)
        content = pages.sign_in_page(code, page.csrf, email, "Wrong email or password.")
        return page.html(content, 401)
    await cp.sign_in_limiter.reset(limit_key)
    return page.redirect(code, session_token=signed_in[1])


async def _decide(request: Request, page: _Page, code: str, *, approve: bool) -> Response:
    token = request.cookies.get(SESSION_COOKIE)

    def run(session: Session, now: datetime) -> tuple[LoginState, User | None]:
        user = sessions.session_user(session, token, now=now)
        if user is None:
            return logins.state_of(session, code, now=now), None
        return logins.decide(session, user, code, approve=approve, now=now), user

    state, user = await in_transaction(request, run)
    if user is None:
        if state is not LoginState.PENDING:
            return page.state(state)
        content = pages.sign_in_page(code, page.csrf, error="Please sign in first.")
        return page.html(content, 401)
    if state is not LoginState.PENDING:
        return page.state(state)
    if approve:
        return page.html(
            pages.message_page(
                "CLI authorized", "Approved. You can close this page and return to your terminal."
            )
        )
    return page.html(
        pages.message_page("Login denied", "Denied. The terminal will not be logged in.")
    )


async def script(_request: Request) -> Response:
    """The page's small script (served from this origin: the page's CSP allows nothing else)."""
    return Response(
        pages.SCRIPT,
        media_type="text/javascript",
        headers={"cache-control": "max-age=300", "x-content-type-options": "nosniff"},
    )


routes = [
    Route(AUTHORIZE_PATH, show, methods=["GET"]),
    Route(AUTHORIZE_PATH, submit, methods=["POST"]),
    Route(pages.SCRIPT_PATH, script, methods=["GET"]),
]
