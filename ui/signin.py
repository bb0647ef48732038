"""The sign-in page and sign-out: plain HTML forms in front of the Gradio app, no script needed.

Signing in opens a server-side session (``tools/web_sessions.py``) and hands the browser its token in an
HTTP-only, ``SameSite=Lax`` cookie that expires with the session (``Secure`` over HTTPS or when
``SUPPORT_COOKIE_SECURE`` says so). The form carries a one-time token matched against a short-lived
cookie (login CSRF), and both forms refuse a cross-site ``Origin``.
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from store.config import Settings
from tools.desk import Desk
from tools.errors import DeskError, InvalidInputError
from tools.web_sessions import SignInRefused, session_actor, sign_in, sign_out
from ui.context import SESSION_COOKIE, session_token
from ui.gate import SIGN_IN_PATH, cross_site_reason

logger = logging.getLogger(__name__)

SIGN_OUT_PATH = "/signout"
FORM_COOKIE = "sa_signin"
FORM_MAX_AGE = 3600
NO_STORE = {"cache-control": "no-store"}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Support desk</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #f4f5f7; margin: 0; }}
 main {{ max-width: 22rem; margin: 10vh auto; background: #fff; padding: 2rem; border-radius: 8px;
        box-shadow: 0 1px 4px rgba(0,0,0,.15); }}
 h1 {{ font-size: 1.4rem; margin-top: 0; }}
 label {{ display: block; margin: 1rem 0 .3rem; font-weight: 600; }}
 input {{ width: 100%; box-sizing: border-box; padding: .55rem; font-size: 1rem; border: 1px solid #bbb;
         border-radius: 4px; }}
 button {{ margin-top: 1.4rem; width: 100%; padding: .65rem; font-size: 1rem; border: 0; border-radius: 4px;
          background: #ea580c; color: #fff; cursor: pointer; }}
 .error {{ background: #fde8e8; color: #8a1c1c; padding: .6rem; border-radius: 4px; }}
 .note {{ color: #555; font-size: .9rem; }}
</style></head>
<body><main>
<h1>Sign in to the support desk</h1>
{message}
<form method="post" action="{action}">
 <input type="hidden" name="form_token" value="{form_token}">
 <label for="signin-identifier">Username or e-mail address</label>
 <input id="signin-identifier" name="identifier" autocomplete="username" required autofocus value="{identifier}">
 <label for="signin-password">Password</label>
 <input id="signin-password" name="password" type="password" autocomplete="current-password" required>
 <button id="signin-submit" type="submit">Sign in</button>
</form>
<p class="note">Forgot your password? An admin can set a new one (Admin › Users and tokens, or
<code>support-agent user password USERNAME</code>).</p>
</main></body></html>
"""


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _secure(request: Request, settings: Settings) -> bool:
    return settings.cookie_secure if settings.cookie_secure is not None else request.url.scheme == "https"


def _page(
    request: Request, settings: Settings, *, status: int = 200, message: str = "", identifier: str = ""
) -> Response:
    form_token = secrets.token_urlsafe(24)
    notice = f'<p class="error" id="signin-error" role="alert">{html.escape(message)}</p>' if message else ""
    body = PAGE.format(
        message=notice, action=SIGN_IN_PATH, form_token=form_token, identifier=html.escape(identifier, quote=True)
    )
    response = HTMLResponse(body, status_code=status, headers=NO_STORE)
    response.set_cookie(
        FORM_COOKIE,
        form_token,
        max_age=FORM_MAX_AGE,
        path=SIGN_IN_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request, settings),
    )
    return response


def sign_in_routes(settings: Settings, desk: Callable[[], Desk]) -> list[Route]:
    """``GET/POST /signin`` and ``POST /signout``, acting on the desk ``desk()`` returns."""

    async def show(request: Request) -> Response:
        if await session_actor(desk(), session_token(request)) is not None:
            return RedirectResponse("/", status_code=303, headers=NO_STORE)
        return _page(request, settings)

    async def submit(request: Request) -> Response:
        reason = cross_site_reason(request.method, request.headers)
        if reason is not None:
            logger.warning("refused a cross-site sign-in: %s", reason)
            return _page(request, settings, status=403, message="This sign-in did not come from this site.")
        form = await request.form()
        identifier = str(form.get("identifier") or "")
        password = str(form.get("password") or "")
        expected = request.cookies.get(FORM_COOKIE)
        given = str(form.get("form_token") or "")
        if not expected or not secrets.compare_digest(expected, given):
            message = "The sign-in form expired; enter your details again."
            return _page(request, settings, status=400, message=message, identifier=identifier)
        try:
            opened = await sign_in(
                desk(),
                identifier=identifier,
                password=password,
                address=client_address(request),
                user_agent=request.headers.get("user-agent"),
            )
        except SignInRefused as exc:
            status = 401 if exc.outcome == "bad_credentials" else 429
            response = _page(request, settings, status=status, message=_sentence(str(exc)), identifier=identifier)
            if exc.retry_after is not None:
                response.headers["retry-after"] = str(max(int(exc.retry_after + 0.999), 1))
            return response
        except InvalidInputError as exc:
            return _page(request, settings, status=400, message=_sentence(str(exc)), identifier=identifier)
        response = RedirectResponse("/", status_code=303, headers=NO_STORE)
        response.set_cookie(
            SESSION_COOKIE,
            opened.token,
            max_age=int(settings.session_hours * 3600),
            path="/",
            httponly=True,
            samesite="lax",
            secure=_secure(request, settings),
        )
        response.delete_cookie(FORM_COOKIE, path=SIGN_IN_PATH)
        logger.info("%s signed in from %s", opened.actor.username, client_address(request))
        return response

    async def leave(request: Request) -> Response:
        reason = cross_site_reason(request.method, request.headers)
        if reason is not None:
            logger.warning("refused a cross-site sign-out: %s", reason)
            return Response("cross-site request refused", status_code=403)
        try:
            await sign_out(desk(), session_token(request), address=client_address(request))
        except DeskError as exc:  # the desk is starting or stopping: the cookie goes anyway
            logger.info("sign-out without the desk: %s", exc)
        response = RedirectResponse(SIGN_IN_PATH, status_code=303, headers=NO_STORE)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return [
        Route(SIGN_IN_PATH, show, methods=["GET", "HEAD"]),
        Route(SIGN_IN_PATH, submit, methods=["POST"]),
        Route(SIGN_OUT_PATH, leave, methods=["POST"]),
    ]


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else text
