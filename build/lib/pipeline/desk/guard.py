"""The desk's safety: who may connect, which requests may change anything, and
what a page may load.

- Host header checked against the address we bound (a DNS-rebinding page
  cannot talk to the desk under its own name).
- Off loopback, a token: ``?token=...`` once sets a cookie; every request needs it.
- Every state-changing request is a POST carrying the per-process CSRF token
  (in the ``X-CSRF-Token`` header from our script, or a ``csrf`` form field);
  another site cannot read it, so it cannot forge the request.
- A Content-Security-Policy like the HTML export's: our own script and styles
  only, nothing from elsewhere except episode audio when it is not on disk.
"""
import hmac
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode

from starlette.responses import PlainTextResponse, RedirectResponse

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
TOKEN_COOKIE = "podpipe_desk_token"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       # the enclosure URL plays when the audio is not downloaded: media may come from the web, nothing else
       "media-src 'self' https: http:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]


def is_loopback(host):
    return host in LOOPBACK or host.startswith("127.")


def new_secret():
    return secrets.token_urlsafe(32)


def same(a, b):
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


class CsrfError(Exception):
    """A POST without the desk's CSRF token."""


async def checked_form(request):
    """The POSTed form, after checking its CSRF token (header or field); raises CsrfError."""
    form = await request.form()
    sent = request.headers.get("x-csrf-token") or form.get("csrf")
    if not same(sent, request.app.state.csrf):
        raise CsrfError()
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin.split("://", 1)[-1] != request.headers.get("host"):
        raise CsrfError()
    return form


class Guard:
    """ASGI middleware: Host check, token check and security headers on every response."""

    def __init__(self, app, *, hosts, token=None):
        self.app = app
        self.hosts = {h.lower() for h in hosts}
        self.token = token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "").lower()
        host = host[:host.index("]") + 1] if host.startswith("[") and "]" in host else host.split(":")[0]
        if host not in self.hosts:
            return await PlainTextResponse("unknown host", 400)(scope, receive, send)
        if self.token:
            query = parse_qs(scope.get("query_string", b"").decode())
            cookie = SimpleCookie(headers.get("cookie", ""))
            if same((query.get("token") or [None])[0], self.token):
                # swap the token in the address bar for a cookie, so it does not stay in history
                rest = urlencode([(k, v) for k, vs in query.items() if k != "token" for v in vs])
                response = RedirectResponse(scope["path"] + ("?" + rest if rest else ""), 303)
                response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
                return await response(scope, receive, send)
            if TOKEN_COOKIE not in cookie or not same(cookie[TOKEN_COOKIE].value, self.token):
                return await PlainTextResponse("a token is needed: open the address podpipe desk printed",
                                               401)(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + HEADERS
            await send(message)

        return await self.app(scope, receive, send_with_headers)
