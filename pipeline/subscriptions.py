"""The subscription list: adding and removing feeds, OPML import and export."""
import json
import os
from pathlib import Path
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


# an item an editor has touched: decided, edited, or put in a collection
DECIDED = "(i.status != 'pending' or i.edited_text is not null or i.id in (select item_id from collection_items))"


def feed_files(db, feed_id):
    """Every file on disk the database names for a feed's episodes: audio,
    transcripts (json and its vtt, srt and txt siblings), publisher transcripts."""
    paths = []
    for (path,) in db.execute(
            "select audio_path from episodes where feed_id = ? and audio_path is not null "
            "union all select l.path from episode_transcript_links l join episodes e on e.id = l.episode_id "
            "where e.feed_id = ? and l.path is not null", [feed_id, feed_id]):
        paths.append(path)
    for (path,) in db.execute("select t.path from transcripts t join episodes e on e.id = t.episode_id "
                              "where e.feed_id = ? and t.path is not null", [feed_id]):
        stem = path[: -len(".json")] if path.endswith(".json") else path
        paths += [path] + [f"{stem}.{ext}" for ext in ("vtt", "srt", "txt") if f"{stem}.{ext}" != path]
    return [p for p in dict.fromkeys(paths) if os.path.isfile(p)]


def removal_summary(db, feed):
    """What removing a feed deletes: counts of episodes, files and items (and
    how many editors approved, rejected or edited), and the collections that
    lose items, as {name: (items lost, items in it)}."""
    fid = feed["id"]
    items = db.execute(
        "select count(*), coalesce(sum(status = 'approved'), 0), coalesce(sum(status = 'rejected'), 0), "
        "coalesce(sum(edited_text is not null), 0) from items where episode_id in "
        "(select id from episodes where feed_id = ?)", [fid]).fetchone()
    collections = {name: (lost, size) for name, lost, size in db.execute(
        "select c.name, sum(e.feed_id = ?), count(*) from collections c "
        "join collection_items ci on ci.collection_id = c.id join items i on i.id = ci.item_id "
        "left join episodes e on e.id = i.episode_id group by c.id having sum(e.feed_id = ?) > 0 order by c.name",
        [fid, fid])}
    return {"episodes": db.execute("select count(*) from episodes where feed_id = ?", [fid]).fetchone()[0],
            "files": len(feed_files(db, fid)), "items": items[0], "approved": items[1], "rejected": items[2],
            "edited": items[3], "decided": len(editor_decisions(db, feed)), "collections": collections}


def editor_decisions(db, feed):
    """The feed's items an editor has touched, each with its episode and its
    collections, as plain rows: what a removal would otherwise lose."""
    rows = []
    for row in db.query(
            f"select i.id, i.kind, i.status, i.text, i.edited_text, i.speaker, i.start, i.\"end\", i.reviewed, "
            f"e.guid as episode_guid, e.title as episode_title, e.enclosure_url from items i "
            f"join episodes e on e.id = i.episode_id where e.feed_id = ? and {DECIDED} order by i.id", [feed["id"]]):
        row["collections"] = [dict(r) for r in db.query(
            "select c.name, ci.position, ci.note from collection_items ci join collections c on c.id = ci.collection_id "
            "where ci.item_id = ? order by c.name", [row["id"]])]
        rows.append({"feed_url": feed["url"], "feed_title": feed["title"], **row})
    return rows


def save_decisions(rows, path):
    """Write editors' decisions as JSON lines (atomically); returns the path."""
    from .files import atomic_file

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, perms="umask") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def remove_feed(db, feed):
    """Delete a feed with its episodes, everything hanging off them, and their
    files on disk (after the rows are gone, so the database never names a
    missing file). Returns how many episodes went."""
    episodes = db.execute("select count(*) from episodes where feed_id = ?", [feed["id"]]).fetchone()[0]
    files = feed_files(db, feed["id"])
    delete_with_dependents(db, "feeds", "id = ?", [feed["id"]])
    for path in files:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
    for folder in {Path(p).parent for p in files}:
        try:
            folder.rmdir()  # the feed's folder, once empty
        except OSError:
            pass
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
