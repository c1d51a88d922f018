"""Which URLs a feed may send podpipe to.

A feed is someone else's document: whatever it links to, we fetch, store and
export. So a feed fetched over http(s) may only link to http(s) URLs, and a
local feed file that the user named may also link to files in its own folder
(and below it), never anywhere else on the disk. Redirects are followed only
to http(s).
"""
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

WEB_SCHEMES = ("http", "https")


def is_web(url):
    """True for an http(s) URL."""
    return bool(url) and urlsplit(str(url).strip()).scheme.lower() in WEB_SCHEMES


def web_only(url):
    """url when it is http(s), else None: what exports may write."""
    return url if is_web(url) else None


def _file_path(url):
    """The path of a file: URL or a bare path, else None."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "file":
        return Path(unquote(parts.path))
    if parts.scheme == "" or (len(parts.scheme) == 1 and url[1:3] in (":\\", ":/")):
        return Path(url)
    return None


def feed_root(location):
    """The folder a local feed may link into, or None for a feed on the web."""
    path = _file_path(location)
    return Path(os.path.realpath(path)).parent if path is not None else None


def refusal(url, root):
    """Why a feed whose folder is root (None: a web feed) may not link to url, or None if it may."""
    if is_web(url):
        return None
    path = _file_path(url) if url else None
    if path is None:
        scheme = urlsplit(str(url)).scheme or "no scheme"
        return f"refused {shorten(url)}: podpipe follows only http(s) links ({scheme} is not one)"
    if root is None:
        return f"refused {shorten(url)}: a feed on the web may only link to http(s) URLs, not to local files"
    real = Path(os.path.realpath(path))
    if real != root and root not in real.parents:
        return f"refused {shorten(url)}: a local feed may only link to files in its own folder ({root})"
    return None


def allowed(url, root):
    """url if a feed whose folder is root may link to it, else None."""
    return url if url and refusal(url, root) is None else None


def shorten(url, width=200):
    url = str(url)
    return url if len(url) <= width else url[: width - 1] + "…"
