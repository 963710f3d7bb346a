"""Who may read the dashboard, and what the browser may do with its pages.

With a token, every request must carry it: ``Authorization: Bearer TOKEN``, or the
HttpOnly cookie that a first ``?token=TOKEN`` sets (the address is then cleaned of it).
Every response carries a strict Content-Security-Policy (scripts only from the server's
own static files, no inline script), ``X-Content-Type-Options: nosniff`` and
``Referrer-Policy: no-referrer``. The one write, adding a note, needs a form token signed
with a secret made when the app starts.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

__all__ = ["COOKIE", "POLICY", "FormSigner", "is_loopback", "security_middleware"]

COOKIE = "heldout_token"
#: Plotly writes inline styles and draws heatmaps as data:/blob: images; nothing else
#: is needed beyond the server's own files.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: How long a notes form stays valid.
FORM_MAX_AGE_S = 12 * 3600


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


Handler = Callable[[Request], Awaitable[Response]]


def security_middleware(token: str | None) -> Callable[[Request, Handler], Awaitable[Response]]:
    """The HTTP middleware: checks the token when one is set, adds the headers always."""

    async def middleware(request: Request, call_next: Handler) -> Response:
        if token is not None:
            given = request.query_params.get("token")
            if given is not None:
                if not _same(given, token):
                    return _secured(_refused())
                # Trade the token in the address for a cookie, and drop it from the
                # address so it does not linger in history or logs.
                rest = [(k, v) for k, v in parse_qsl(request.url.query) if k != "token"]
                target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
                response: Response = RedirectResponse(target, status_code=303)
                response.set_cookie(
                    COOKIE, token, httponly=True, samesite="strict", secure=_https(request)
                )
                return _secured(response)
            if not _authorised(request, token):
                return _secured(_refused())
        return _secured(await call_next(request))

    return middleware


def _authorised(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and _same(value.strip(), token):
        return True
    cookie = request.cookies.get(COOKIE)
    return cookie is not None and _same(cookie, token)


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


def _https(request: Request) -> bool:
    return request.url.scheme == "https"


def _refused() -> Response:
    return PlainTextResponse(
        "401: this dashboard needs its token: send 'Authorization: Bearer TOKEN' or open "
        "the address once with ?token=TOKEN",
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def _secured(response: Response) -> Response:
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class FormSigner:
    """Form tokens for the notes form: ``time.signature``, tied to the run they post to."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def issue(self, purpose: str, *, now: float | None = None) -> str:
        """A token for ``purpose`` (such as ``note:RUN_ID``), valid for 12 hours."""
        stamp = str(int(time.time() if now is None else now))
        return f"{stamp}.{self._sign(purpose, stamp)}"

    def check(self, purpose: str, token: str, *, now: float | None = None) -> bool:
        """Whether ``token`` was issued by this app for ``purpose`` and is still valid."""
        stamp, _, signature = token.partition(".")
        if not stamp.isdigit() or not signature:
            return False
        age = (time.time() if now is None else now) - int(stamp)
        if not 0 <= age <= FORM_MAX_AGE_S:
            return False
        return hmac.compare_digest(signature, self._sign(purpose, stamp))

    def _sign(self, purpose: str, stamp: str) -> str:
        message = f"{purpose}\n{stamp}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()
