"""Feed ingestion: fetch a feed (conditional GET), parse it with feedparser plus
our own Podcasting 2.0 reader, and save the feed and its episodes."""
import calendar
import contextlib
import datetime
import hashlib
import html
import json
import os
import re
import time
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import defusedxml
import defusedxml.ElementTree as SafeET
import xml.etree.ElementTree as ET
import feedparser
import logging

from .db import insert_many, utcnow
from .errors import PodpipeError
from .http_client import FetchError, local_path, make_client, with_retries
from .urls import feed_root, is_web, refusal

PODCAST_NS = ("https://podcastindex.org/namespace/1.0", "http://podcastindex.org/namespace/1.0")
ATOM_NS = "http://www.w3.org/2005/Atom"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
MEDIA_NS = ("http://search.yahoo.com/mrss/", "http://search.yahoo.com/mrss")
# What the usual prefixes mean when a feed uses them without declaring them
KNOWN_PREFIXES = {
    "itunes": ITUNES_NS, "podcast": PODCAST_NS[0], "atom": ATOM_NS, "media": MEDIA_NS[0],
    "content": "http://purl.org/rss/1.0/modules/content/", "dc": "http://purl.org/dc/elements/1.1/",
    "googleplay": "http://www.google.com/schemas/play-podcasts/1.0", "psc": "http://podlove.org/simple-chapters",
    "spotify": "http://www.spotify.com/ns/rss", "sy": "http://purl.org/rss/1.0/modules/syndication/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "georss": "http://www.georss.org/georss",
}
MAX_PAGES = 50
log = logging.getLogger("podpipe.ingest")
MAX_FEED_BYTES = 50 * 1024 * 1024
# A read timeout alone lets a server that trickles a byte at a time hold us for
# ever; no feed needs more than this for its whole body.
FEED_DEADLINE_S = 120.0


class FeedError(PodpipeError):
    """A feed that could not be fetched or parsed; one line for the user."""


# --- fetching ---------------------------------------------------------------

def feed_location(url_or_path):
    """Normalise what a user typed: URLs stay, local paths become absolute."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+://", url_or_path):
        return url_or_path
    return str(Path(url_or_path).expanduser().resolve())


def base_url_for(location):
    """The URL relative links in a feed are resolved against."""
    path = local_path(location)
    return path.resolve().as_uri() if path is not None else location


def fetch_feed(location, *, etag=None, last_modified=None, client=None, policy=None, deadline=None):
    """Fetch feed bytes. Returns (content or None when not modified, etag, last_modified,
    url): url is where the content came from after redirects, the base for its links.

    For local files the "etag" is the file's size and mtime, so an unchanged
    file is not read or parsed again, like a 304.
    """
    path = local_path(location)
    if path is not None:
        try:
            stat = path.stat()
        except OSError as exc:
            raise FeedError(f"cannot read {path}: {exc.strerror}") from None
        tag = f"local:{stat.st_size}:{stat.st_mtime_ns}"
        if etag == tag and stat.st_size:
            return None, etag, last_modified, location
        return read_local_feed(path), tag, None, location
    if not is_web(location):
        raise FeedError(f"cannot fetch {location}: podpipe reads feeds over http(s) or from a local file")
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    own = client is None
    client = client or make_client()
    try:
        def get():
            request = client.build_request("GET", location, headers=headers)
            response = client.send(request, stream=True)
            try:
                length = int(response.headers.get("content-length") or 0)
                if length > MAX_FEED_BYTES:
                    raise FeedError(f"feed is larger than {MAX_FEED_BYTES} bytes")
                if response.status_code < 400 and response.status_code != 304:
                    body = bytearray()
                    limit = deadline or FEED_DEADLINE_S
                    started = time.monotonic()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > MAX_FEED_BYTES:
                            raise FeedError(f"feed is larger than {MAX_FEED_BYTES} bytes")
                        if time.monotonic() - started > limit:
                            raise FeedError(f"the server took more than {limit:.0f} s to send the feed")
                    response._content = bytes(body)
            finally:
                response.close()
            return response
        try:
            response = with_retries(get, policy)
        except FetchError as exc:
            raise FeedError(str(exc)) from None
        if response.status_code == 304:
            return None, etag, last_modified, location
        # after a redirect to another host, relative links resolve against the new URL (RFC 3986 5.1.3)
        return (response.content, response.headers.get("etag"),
                response.headers.get("last-modified"), str(response.url))
    finally:
        if own:
            client.close()


def read_local_feed(path):
    """The bytes of a local feed file, at most MAX_FEED_BYTES of them.

    We read with a limit rather than trust the size: /dev/zero, a pipe or a
    file in /proc say they are empty and never end.
    """
    if path.is_dir():
        raise FeedError(f"{path} is a folder, not a feed file")
    try:
        with open(path, "rb") as f:
            content = f.read(MAX_FEED_BYTES + 1)
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(content) > MAX_FEED_BYTES:
        raise FeedError(f"feed is larger than {MAX_FEED_BYTES} bytes")
    return content


# --- parsing ----------------------------------------------------------------

_PREFIX_USED = re.compile(rb"<\/?([A-Za-z_][\w.-]*):[A-Za-z_]|\s([A-Za-z_][\w.-]*):[A-Za-z_][\w.-]*\s*=")
_PREFIX_DECLARED = re.compile(rb"xmlns:([A-Za-z_][\w.-]*)\s*=")
_ROOT_TAG = re.compile(rb"<(?![?!])[A-Za-z_][\w.:-]*")


def declare_missing_prefixes(content):
    """The feed with every namespace prefix it uses but never declares declared
    on its root element, or None when nothing is missing.

    Hand-made and older feeds write <itunes:duration> without xmlns:itunes; an
    XML parser refuses them whole ("unbound prefix"), podcast apps read them.
    """
    used = {a or b for a, b in _PREFIX_USED.findall(content)}
    missing = sorted(used - set(_PREFIX_DECLARED.findall(content)) - {b"xml", b"xmlns"})
    root = _ROOT_TAG.search(content)
    if not missing or root is None:
        return None
    declarations = b"".join(
        b' xmlns:%s="%s"' % (p, KNOWN_PREFIXES.get(p.decode(), f"urn:podpipe:undeclared:{p.decode()}").encode())
        for p in missing)
    return content[:root.end()] + declarations + content[root.end():]


def _declares_nothing(content):
    """True when the document cannot declare entities or point outside itself.

    Entities and external references can only be declared in a DOCTYPE, so a
    document without one is safe to give to the C parser (defusedxml's checks
    need the pure-Python one, a tenth of an ingest). We only trust the byte
    search for encodings where "<!DOCTYPE" is written in ASCII bytes: a
    document that starts with a UTF-16 or UTF-32 byte-order mark or a NUL byte
    goes through defusedxml.
    """
    head = content[:4]
    if head.startswith((b"\xfe\xff", b"\xff\xfe")) or b"\x00" in head:
        return False
    return b"<!DOCTYPE" not in content


def _parse_xml(content):
    try:
        if _declares_nothing(content):
            return ET.fromstring(content)
        return SafeET.fromstring(content)
    except defusedxml.DefusedXmlException as exc:
        raise FeedError(f"refused: the feed declares XML entities or external references ({type(exc).__name__})") from None
    except SafeET.ParseError as exc:
        if content[:512].lstrip().lower().startswith((b"<!doctype html", b"<html")):
            # a web page is rarely well-formed XML: say what it is, not where the parser tripped
            raise FeedError("not a podcast feed (an HTML page, not RSS or Atom)") from None
        raise FeedError(f"not well-formed XML: {exc}") from None


def _absolute(base, url):
    return urljoin(base, url.strip()) if url else None


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _podcast(el, name):
    """Children of el in the podcast namespace called name (both namespace URIs)."""
    return [c for ns in PODCAST_NS for c in el.findall(f"{{{ns}}}{name}")]


def _podcast_tags(el):
    """{name: children} for every podcast:* child of el, each list as _podcast gives
    it; one pass over el's children, not a findall per name and namespace URI."""
    found = {}
    for child in el:
        tag = child.tag
        if isinstance(tag, str) and tag.startswith("{"):  # comments have a function as their tag
            ns, _, name = tag[1:].partition("}")
            if ns in PODCAST_NS:
                found.setdefault((ns, name), []).append(child)
    return {name: [c for ns in PODCAST_NS for c in found.get((ns, name), [])] for _, name in found}


def _text(el):
    return (el.text or "").strip() if el is not None else ""


def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def parse_duration(value):
    """itunes:duration as seconds: "3600", "1:02:03", "62:03"."""
    if not value:
        return None
    parts = str(value).strip().split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    seconds = 0.0
    for n in numbers:
        seconds = seconds * 60 + n
    return seconds


def _iso(struct):
    if not struct:
        return None
    return datetime.datetime.fromtimestamp(calendar.timegm(struct), datetime.timezone.utc).isoformat()


def _explicit(value):
    if value in (None, ""):
        return None
    return 1 if str(value).strip().lower() in ("yes", "true", "explicit", "1") else 0


def _persons(el, tags=None):
    people = []
    for p in tags.get("person", []) if tags is not None else _podcast(el, "person"):
        name = _text(p)
        if name:
            people.append({"name": name, "role": (p.get("role") or "host").lower(),
                           "group": (p.get("group") or "cast").lower(),
                           "href": p.get("href"), "img": p.get("img")})
    return people


def _media_enclosure(item):
    """The first audio or video media:content (Media RSS), also inside media:group."""
    for ns in MEDIA_NS:
        for content in item.iter(f"{{{ns}}}content"):
            kind = (content.get("type") or "").lower()
            medium = (content.get("medium") or "").lower()
            if content.get("url") and (kind.startswith(("audio/", "video/")) or medium in ("audio", "video")):
                return content
    return None


# URL characters without params (;), a fragment (#), brackets (IPv6) or an empty
# query: for these urljoin(base, url) == url whatever the base (tests/test_feeds.py checks)
_PLAIN_WEB_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?@!$&'()*+,=%]*\Z(?<!\?)")


def _link(base, url, root, refused):
    """url made absolute, if the feed may send us there (see urls.py); else None,
    with the reason added to refused."""
    if not url or not url.strip():
        return None
    url = url.strip()
    # Most links are plain absolute web URLs, which urljoin (a tenth of parsing a
    # big feed) would give back unchanged; anything else goes through it.
    if not _PLAIN_WEB_URL.match(url):
        url = urljoin(base, url)
    if url.startswith(("http://", "https://")):  # urljoin lower-cases the scheme; the common case, parsed once
        return url
    reason = refusal(url, root)
    if reason:
        refused.append(reason)
        return None
    return url


def _item_extras(item, base, channel_people, root=None, refused=None):
    """What feedparser cannot give us: every podcast:* tag and the raw enclosure."""
    refused = [] if refused is None else refused
    enclosure = item.find("enclosure")
    if enclosure is None:
        enclosure = next((link for link in item.findall(f"{{{ATOM_NS}}}link")
                          if link.get("rel") == "enclosure"), None)
    if enclosure is None:
        enclosure = _media_enclosure(item)
    url = enclosure.get("url") or enclosure.get("href") if enclosure is not None else None
    url = _link(base, url, root, refused)
    tags = _podcast_tags(item)
    pguid = tags.get("guid")
    transcripts = [(_link(base, t.get("url"), root, refused), t) for t in tags.get("transcript", [])]
    chapters = [(_link(base, c.get("url"), root, refused), c) for c in tags.get("chapters", [])]
    return {
        "enclosure_url": url,
        "enclosure_type": enclosure.get("type") if url else None,
        "enclosure_length": _int(enclosure.get("length") or enclosure.get("fileSize")) if url else None,
        "podcast_guid": _text(pguid[0]) if pguid else None,
        # item-level persons replace the channel's
        "people": _persons(item, tags) or channel_people,
        "transcripts": [{"url": u, "type": t.get("type"), "language": t.get("language"), "rel": t.get("rel")}
                        for u, t in transcripts if u],
        "chapters": [{"url": u, "type": c.get("type")} for u, c in chapters if u],
        "soundbites": [{"start": _float(s.get("startTime")), "duration": _float(s.get("duration")),
                        "title": _text(s) or None}
                       for s in tags.get("soundbite", []) if _float(s.get("startTime")) is not None],
    }


_FROM_BASE = object()


def parse_feed(content, base_url, folder=_FROM_BASE):
    """Parse feed bytes into {"feed": {...}, "episodes": [...], "next": url or None,
    "warnings": [...]}.

    folder is where a local feed may link into (None for a feed on the web,
    see urls.py); by default it is worked out from base_url. Links the feed may
    not make are left out, and said in warnings.
    """
    if folder is _FROM_BASE:
        folder = None if is_web(base_url) else feed_root(base_url)
    refused = []
    try:
        root = _parse_xml(content)
    except FeedError as exc:
        repaired = declare_missing_prefixes(content) if "unbound prefix" in str(exc) else None
        if repaired is None:
            raise
        content = repaired  # feedparser reads the same document as we do, so their items line up
        root = _parse_xml(content)
    kind = _local(root.tag).lower()
    if kind == "rss":
        channel = root.find("channel")
        items = channel.findall("item") if channel is not None else []
    elif kind == "feed":
        channel = root
        items = root.findall(f"{{{ATOM_NS}}}entry")
    elif kind == "rdf":
        channel = root
        items = [c for c in root if _local(c.tag) == "item"]
    else:
        raise FeedError(f"not a podcast feed (the document is <{_local(root.tag)}>, not RSS or Atom)")
    if channel is None:
        raise FeedError("not a podcast feed (RSS without a <channel>)")

    # We never render feed HTML (exports escape it) and resolve the links we keep
    # ourselves, so feedparser's sanitiser and URI rewriting would only cost time
    # (about a third of its run on a 5,000-item feed).
    parsed = feedparser.parse(content, resolve_relative_uris=False, sanitize_html=False)
    if parsed.bozo and not parsed.entries and not parsed.feed:
        raise FeedError(f"feedparser could not read it: {parsed.bozo_exception}")
    f = parsed.feed
    channel_people = _persons(channel)
    pguid = _podcast(channel, "guid")
    feed = {
        "title": f.get("title"), "author": f.get("author") or f.get("itunes_author"),
        "description": f.get("subtitle") or f.get("description"),
        "image": _link(base_url, (f.get("image") or {}).get("href"), folder, refused),
        "link": _absolute(base_url, f.get("link")),
        "language": f.get("language"), "podcast_guid": _text(pguid[0]) if pguid else None,
    }
    next_url = None
    for link in channel.findall(f"{{{ATOM_NS}}}link"):
        if link.get("rel") == "next" and link.get("href"):
            next_url = _link(base_url, link.get("href"), folder, refused)

    entries = parsed.entries
    if len(entries) != len(items):
        raise FeedError(f"feedparser found {len(entries)} items where the XML has {len(items)}")
    episodes = []
    for entry, item in zip(entries, items):
        extras = _item_extras(item, base_url, channel_people, folder, refused)
        # the guid as written: feedparser resolves a guid that looks relative into a URL
        raw_guid = _text(item.find("guid")) or _text(item.find(f"{{{ATOM_NS}}}id"))
        link = _absolute(base_url, entry.get("link"))
        guid = (raw_guid or extras["enclosure_url"] or link
                or hashlib.sha256((entry.get("title", "") + entry.get("published", "")).encode()).hexdigest())
        episodes.append({
            "guid": guid.strip(), "title": entry.get("title") or fallback_title(entry, extras),
            "description": entry.get("summary"), "link": link,
            "published": _iso(entry.get("published_parsed") or entry.get("updated_parsed")),
            "duration_s": parse_duration(entry.get("itunes_duration")),
            "season": _int(entry.get("itunes_season")), "episode": _int(entry.get("itunes_episode")),
            "episode_type": entry.get("itunes_episodetype"),
            "explicit": _explicit(_text(item.find(f"{{{ITUNES_NS}}}explicit")) or None),
            "image": _link(base_url, (entry.get("image") or {}).get("href"), folder, refused),
            **extras,
        })
    return {"feed": feed, "episodes": episodes, "next": next_url, "warnings": _summarise(refused)}


def _summarise(messages, most=10):
    if len(messages) <= most:
        return messages
    return messages[:most] + [f"and {len(messages) - most} more links refused"]


_TAGS = re.compile(r"<[^>]*>")


def fallback_title(entry, extras, words=8):
    """A title for an item that has none, as podcast apps make one: the
    enclosure's file name, else the first words of the description."""
    url = extras.get("enclosure_url")
    if url:
        name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
        name = os.path.splitext(name)[0].replace("_", " ").strip()
        if name:
            return name
    text = " ".join(html.unescape(_TAGS.sub(" ", entry.get("summary") or "")).split())
    if text:
        head = text.split()
        return " ".join(head[:words]).rstrip(",;:") + ("…" if len(head) > words else "")
    return None


# --- saving -----------------------------------------------------------------

EPISODE_FIELDS = ("guid", "podcast_guid", "title", "description", "link", "published", "duration_s",
                  "season", "episode", "episode_type", "explicit", "image",
                  "enclosure_url", "enclosure_type", "enclosure_length")


def fingerprint(episode):
    return hashlib.sha256(json.dumps(episode, sort_keys=True, default=str).encode()).hexdigest()


def save_feed(db, location):
    """Insert the feed if new; returns its id."""
    row = db.execute("select id from feeds where url = ?", [location]).fetchone()
    if row:
        return row[0]
    return db["feeds"].insert({"url": location, "added": utcnow()}).last_pk


def save_people(db, people):
    """Ids for people by name, inserting those not seen before: {name: id}."""
    from .text import slugify

    wanted, slug_of = {}, {}
    for p in people:  # a feed names its host on every item: slugify each name once
        if p["name"] not in slug_of:
            slug_of[p["name"]] = slugify(p["name"]) or p["name"]
            wanted.setdefault(slug_of[p["name"]], p)
    ids = {}
    slugs = list(wanted)
    for i in range(0, len(slugs), 500):
        chunk = slugs[i:i + 500]
        for row in db.execute(f"select slug, id from people where slug in ({','.join('?' * len(chunk))})", chunk):
            ids[row[0]] = row[1]
    # new people in one statement: a feed with a guest per item names hundreds
    # (save_person's one insert each through sqlite-utils was a fifth of an ingest)
    new = [{"slug": slug, "name": p["name"], "href": p["href"] or None, "img": p["img"] or None}
           for slug, p in wanted.items() if slug not in ids]
    insert_many(db, "people", new, or_ignore=True)
    for i in range(0, len(new), 500):
        chunk = [p["slug"] for p in new[i:i + 500]]
        for row in db.execute(f"select slug, id from people where slug in ({','.join('?' * len(chunk))})", chunk):
            ids[row[0]] = row[1]
    return {name: ids[slug] for name, slug in slug_of.items()}


def save_episodes(db, feed_id, episodes):
    """Upsert episodes keyed by (feed, guid) with their people, transcript links,
    chapters and soundbites. Returns (counts, paths of audio files now stale)."""
    counts = {"new": 0, "updated": 0, "unchanged": 0, "duplicate": 0}
    existing = {r["guid"]: r for r in db.query(
        "select id, guid, fingerprint, enclosure_url, enclosure_length, audio_path "
        "from episodes where feed_id = ?", [feed_id])}
    stale, seen, changed, new_rows = [], set(), [], []
    now = utcnow()
    for ep in episodes:
        if ep["guid"] in seen:
            counts["duplicate"] += 1  # the same item twice in one feed: first wins
            continue
        seen.add(ep["guid"])
        fp = fingerprint(ep)
        old = existing.get(ep["guid"])
        if old and old["fingerprint"] == fp:
            counts["unchanged"] += 1
            continue
        row = {k: ep[k] for k in EPISODE_FIELDS}
        row.update(feed_id=feed_id, fingerprint=fp, updated=now)
        changed.append(ep)
        if old is None:
            row.update(first_seen=now, status="new", attempts=0)
            new_rows.append(row)
            counts["new"] += 1
            continue
        if (old["enclosure_url"], old["enclosure_length"]) != (ep["enclosure_url"], ep["enclosure_length"]):
            # new audio under the same guid: download it again, drop the old file
            if old["audio_path"]:
                stale.append(old["audio_path"])
            row.update(audio_path=None, audio_sha256=None, audio_bytes=None,
                       status="new", error=None, attempts=0)
        db["episodes"].update(old["id"], row)
        counts["updated"] += 1
        for table in ("episode_people", "episode_transcript_links", "chapters", "soundbites"):
            db[table].delete_where("episode_id = ?", [old["id"]])
    insert_many(db, "episodes", new_rows)
    ids = {r[0]: r[1] for r in db.execute("select guid, id from episodes where feed_id = ?", [feed_id])}
    people = save_people(db, [p for ep in changed for p in ep["people"]])
    insert_many(db, "episode_people", ({"episode_id": ids[ep["guid"]], "person_id": people[p["name"]],
                                        "role": p["role"], "group": p["group"]}
                                       for ep in changed for p in ep["people"]), or_ignore=True)
    for key, table in (("transcripts", "episode_transcript_links"), ("chapters", "chapters"),
                       ("soundbites", "soundbites")):
        insert_many(db, table, ({"episode_id": ids[ep["guid"]], **x} for ep in changed for x in ep[key]),
                    or_ignore=True)
    return counts, stale


def ingest_feed(db, location, *, client=None, policy=None, warn=None):
    """Fetch, parse and save one feed (following paged feeds).

    Returns counts {"new", "updated", "unchanged", "duplicate", "not_modified"}.
    Raises FeedError; the error is also recorded on the feed row. Things the
    user should know that do not stop the feed (links refused, no items) go to
    warn(message) and the log.
    """
    fetched = fetch_for_ingest(db, location, client=client, policy=policy)
    if fetched["content"] is None:
        return dict(NOT_MODIFIED)
    first = parse_for_ingest(db, fetched)
    return save_ingested(db, fetched, first, client=client, policy=policy, warn=warn)


# ingest_feed in three steps, so that stages.ingest can parse one feed in another
# process while it fetches and saves others

NOT_MODIFIED = {"not_modified": 1, "new": 0, "updated": 0, "unchanged": 0, "duplicate": 0}


def fetch_for_ingest(db, location, *, client=None, policy=None):
    """The feed's first page if it changed: {"content" (None when not modified),
    "feed_id", "location", "root", "base", ...}. Raises FeedError, recorded on the feed row."""
    root = feed_root(location) if local_path(location) is not None else None
    feed_id = save_feed(db, location)
    # plain SQL: sqlite-utils' get and update read the table's schema each time,
    # a quarter of a warm re-ingest, where every feed answers 304
    old_etag, old_modified, old_sha = db.execute(
        "select etag, last_modified, content_sha256 from feeds where id = ?", [feed_id]).fetchone()
    with _recorded(db, feed_id, location):
        content, etag, last_modified, fetched_from = fetch_feed(
            location, etag=old_etag, last_modified=old_modified, client=client, policy=policy)
    sha = hashlib.sha256(content).hexdigest() if content is not None else None
    if content is None or sha == old_sha:
        db.execute("update feeds set last_fetched = ?, last_error = null, etag = ?, last_modified = ? "
                   "where id = ?", [utcnow(), etag, last_modified, feed_id])
        log.info("event=ingest feed=%s status=not_modified", location)
        content = None
    return {"content": content, "feed_id": feed_id, "location": location, "root": root,
            "base": base_url_for(fetched_from), "etag": etag, "last_modified": last_modified, "sha": sha}


def parse_for_ingest(db, fetched, parsed=None):
    """The fetched first page, parsed here, or parsed: a future of parse_feed run
    on it in another process (see stages.ingest); a FeedError is recorded."""
    with _recorded(db, fetched["feed_id"], fetched["location"]):
        if parsed is not None:
            return parsed.result()
        return parse_feed(fetched["content"], fetched["base"], fetched["root"])


def save_ingested(db, fetched, first, *, client=None, policy=None, warn=None):
    """Fetch and parse the rest of a paged feed, then save its episodes (see ingest_feed)."""
    location, feed_id, root = fetched["location"], fetched["feed_id"], fetched["root"]
    pages, seen, page = [first], {location}, first
    with _recorded(db, feed_id, location):
        while page["next"] and page["next"] not in seen and len(pages) < MAX_PAGES:
            seen.add(page["next"])
            more, _, _, fetched_from = fetch_feed(page["next"], client=client, policy=policy)
            page = parse_feed(more, base_url_for(fetched_from), root)
            pages.append(page)
    episodes = [ep for p in pages for ep in p["episodes"]]
    with db.atomic():
        counts, stale = save_episodes(db, feed_id, episodes)
        db["feeds"].update(feed_id, {
            **pages[0]["feed"], "etag": fetched["etag"], "last_modified": fetched["last_modified"],
            "content_sha256": fetched["sha"], "last_fetched": utcnow(), "last_error": None})
    for path in stale:
        try:
            os.unlink(path)
        except OSError:
            pass
    counts["not_modified"] = 0
    log.info("event=ingest feed=%s status=ok pages=%d new=%d updated=%d unchanged=%d", location, len(pages),
             counts["new"], counts["updated"], counts["unchanged"])
    for message in [m for p in pages for m in p["warnings"]] + feed_warnings(episodes):
        log.warning("event=ingest feed=%s warning=%r", location, message)
        if warn:
            warn(message)
    return counts


@contextlib.contextmanager
def _recorded(db, feed_id, location):
    """A FeedError raised in the block is recorded on the feed row, logged, and raised again."""
    try:
        yield
    except FeedError as exc:
        db["feeds"].update(feed_id, {"last_fetched": utcnow(), "last_error": str(exc)})
        log.warning("event=ingest feed=%s status=failed error=%r", location, str(exc))
        raise


def feed_warnings(episodes):
    """What is worth saying about a feed that parsed but gives us nothing to do."""
    if not episodes:
        return ["the feed has no items"]
    if not any(ep["enclosure_url"] or ep["transcripts"] for ep in episodes):
        return [f"none of its {len(episodes)} items has audio or a transcript, so all were skipped"]
    return []


def feed_rows(db, selectors=None):
    """Feeds matching ids, URLs or titles (all feeds when selectors is empty)."""
    rows = list(db.query("select * from feeds order by id"))
    if not selectors:
        return rows
    chosen = []
    for s in selectors:
        loc = feed_location(s) if not s.isdigit() else s
        match = [r for r in rows if str(r["id"]) == s or r["url"] in (s, loc) or r["title"] == s]
        if not match:
            raise FeedError(f"no feed matches {s!r} (see 'podpipe feeds list')")
        chosen += [m for m in match if m not in chosen]
    return chosen
