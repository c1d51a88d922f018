"""Citing an item: its timestamp, a link to the second it was said, and the
"who, where, when" line that exports print under every quote."""
import functools
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be", "music.youtube.com"}


def format_timestamp(seconds):
    """mm:ss, or h:mm:ss from an hour on; '' when the time is unknown."""
    if seconds is None:
        return ""
    total = int(float(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


@functools.lru_cache(maxsize=4096)
def _http(url):
    return bool(url) and urlsplit(str(url)).scheme.lower() in ("http", "https")


@functools.lru_cache(maxsize=4096)
def _youtube(link):
    """For a YouTube link, the text before and after its t= value (the link without
    its own t), else None. Cached: exports and searches ask once per row."""
    parts = urlsplit(link)
    if parts.hostname not in YOUTUBE_HOSTS:
        return None
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "t"])
    head, tail = urlunsplit(parts._replace(query=f"{query}&t=\0" if query else "t=\0")).split("\0", 1)
    return head, tail


def timestamp_url(link, enclosure_url, start):
    """A URL that plays the episode at `start` seconds, or the best plain link.

    A YouTube episode link gets ``t=SECONDSs``; otherwise the audio URL gets a
    media fragment ``#t=SECONDS``. Only http(s) URLs are returned: an export
    must never carry a javascript: or file: link.
    """
    link = link if _http(link) else None
    enclosure_url = enclosure_url if _http(enclosure_url) else None
    if start is None:
        return link or enclosure_url
    second = int(float(start))
    youtube = _youtube(link) if link else None
    if youtube:
        return f"{youtube[0]}{second}s{youtube[1]}"
    if enclosure_url:
        return enclosure_url.split("#", 1)[0] + f"#t={second}"
    return link


def date_of(published):
    """The YYYY-MM-DD part of an ISO date, or ''."""
    return str(published)[:10] if published else ""


def person_line(row):
    """'Name, Title at Organization' with whatever parts are known."""
    name = row.get("person") or row.get("speaker") or "Unknown speaker"
    title, org = row.get("person_title"), row.get("organization")
    if title and org:
        return f"{name}, {title} at {org}"
    if title or org:
        return f"{name}, {title or org}"
    return name
