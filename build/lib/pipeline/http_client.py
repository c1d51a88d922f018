"""One HTTP client for feeds, audio and transcript files: timeouts, a redirect
limit, retries with backoff on 5xx, 429 and timeouts, and local paths."""
import email.utils
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import httpx

from . import __version__
from .errors import PodpipeError
from .urls import is_web, shorten

USER_AGENT = f"podpipe/{__version__} (+https://github.com/podpipe)"
RETRY_STATUSES = {429, 500, 502, 503, 504}


class FetchError(PodpipeError):
    """A fetch that failed for good; the message is one line for the user."""


class RedirectRefused(FetchError):
    """A redirect to something other than http(s), such as a file: URL."""


def _refuse_other_schemes(response):
    # httpx would refuse a file: redirect too, but as a transport error that we
    # would retry; we say what it was, once
    if response.has_redirect_location:
        target = urljoin(str(response.url), response.headers["location"].strip())
        if not is_web(target):
            raise RedirectRefused(f"refused a redirect to {shorten(target)}: podpipe follows only http(s)")


@dataclass
class RetryPolicy:
    attempts: int = 3
    backoff: float = 1.0  # seconds, doubled after each failed attempt
    max_retry_after: float = 30.0  # we never sleep longer than this for a Retry-After


def make_client(timeout=30.0, max_redirects=5):
    return httpx.Client(
        follow_redirects=True,
        max_redirects=max_redirects,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={"User-Agent": USER_AGENT},
        event_hooks={"response": [_refuse_other_schemes]},
    )


def local_path(url):
    """The filesystem path for a file:// URL or a bare path, else None."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme in ("", ) or (len(parsed.scheme) == 1 and url[1:3] in (":\\", ":/")):
        return Path(url)
    return None


def retry_after_seconds(response, default):
    value = response.headers.get("retry-after")
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):  # neither seconds nor a date: Python 3.10+ raises
        return default
    return max(0.0, when.timestamp() - time.time()) if when else default


def describe(exc):
    """A one-line description of an httpx error."""
    if isinstance(exc, httpx.TooManyRedirects):
        return "too many redirects (a redirect loop?)"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect: {exc}".splitlines()[0]
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"podpipe follows only http(s) URLs ({exc})"
    if isinstance(exc, httpx.DecodingError):
        return "the response body could not be decoded (bad Content-Encoding)"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} {exc.response.reason_phrase}".strip()
    return (f"{type(exc).__name__}: {exc}".splitlines() or [type(exc).__name__])[0]


def with_retries(do, policy=None, sleep=time.sleep):
    """Call ``do()`` (which returns an httpx.Response or raises) until it succeeds,
    retrying 5xx, 429 and transport errors. Raises FetchError when it gives up."""
    policy = policy or RetryPolicy()
    delay = policy.backoff
    for attempt in range(1, policy.attempts + 1):
        last = attempt == policy.attempts
        try:
            response = do()
        except httpx.TooManyRedirects as exc:
            raise FetchError(describe(exc)) from None
        except (httpx.TransportError, httpx.DecodingError) as exc:
            if last or isinstance(exc, (httpx.DecodingError, httpx.UnsupportedProtocol)):
                raise FetchError(describe(exc)) from None
            sleep(delay)
            delay *= 2
            continue
        if response.status_code in RETRY_STATUSES and not last:
            wait = delay
            if response.status_code == 429:
                wait = min(retry_after_seconds(response, delay), policy.max_retry_after)
            response.close()
            sleep(wait)
            delay *= 2
            continue
        if response.status_code >= 400:
            response.close()
            raise FetchError(f"HTTP {response.status_code} {response.reason_phrase}".strip())
        return response
    raise AssertionError("unreachable")
