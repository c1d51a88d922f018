"""The subscription list: adding and removing feeds, OPML import and export."""
from xml.sax.saxutils import quoteattr

import defusedxml
import defusedxml.ElementTree as SafeET

from .db import delete_with_dependents
from .feeds import FeedError, feed_location, save_feed


def add_feeds(db, locations):
    """Subscribe to feeds (URLs or paths). Returns [(url, added?)]."""
    results = []
    for loc in locations:
        url = feed_location(loc)
        existed = db.execute("select 1 from feeds where url = ?", [url]).fetchone()
        save_feed(db, url)
        results.append((url, not existed))
    return results


def list_feeds(db):
    """Subscribed feeds with their episode counts."""
    return db.query("select f.id, f.url, f.title, count(e.id) as episodes, f.last_fetched, f.last_error "
                    "from feeds f left join episodes e on e.feed_id = f.id group by f.id order by f.id")


def subscribe(db, locations):
    """Make sure feeds named by URL, path or id are subscribed; returns them as
    selectors for ``feeds.feed_rows`` (URLs, and ids as given)."""
    if not locations:
        return []
    new = [loc for loc in locations if not loc.isdigit()]
    return [url for url, _ in add_feeds(db, new)] + [loc for loc in locations if loc.isdigit()]


def remove_feed(db, feed):
    """Delete a feed with its episodes and everything hanging off them. Returns
    how many episodes went."""
    episodes = db.execute("select count(*) from episodes where feed_id = ?", [feed["id"]]).fetchone()[0]
    delete_with_dependents(db, "feeds", "id = ?", [feed["id"]])
    return episodes


def parse_opml(content):
    """Feed URLs (xmlUrl) from an OPML document, in order, without duplicates."""
    try:
        root = SafeET.fromstring(content)
    except defusedxml.DefusedXmlException:
        raise FeedError("refused: the OPML file declares XML entities") from None
    except SafeET.ParseError as exc:
        raise FeedError(f"not a well-formed OPML file: {exc}") from None
    if root.tag.lower() != "opml":
        raise FeedError(f"not an OPML file (the document is <{root.tag}>)")
    urls = []
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl") or outline.get("xmlurl")
        if url and url not in urls:
            urls.append(url.strip())
    return urls


def export_opml(feeds):
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<opml version="2.0">',
             "  <head><title>podpipe subscriptions</title></head>",
             "  <body>"]
    for f in feeds:
        title = f["title"] or f["url"]
        lines.append(f'    <outline type="rss" text={quoteattr(title)} title={quoteattr(title)} '
                     f'xmlUrl={quoteattr(f["url"])}/>')
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)
