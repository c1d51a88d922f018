"""Exporting items: Markdown, HTML, CSV, JSON, JSON Lines and Readwise CSV.

Exports are deterministic (the same database gives the same bytes: a fixed
row order, no export timestamps) and never partially written: a file is
written beside its destination under a temporary name and renamed over it.
"""
import csv
import datetime
import html
import json
import re
from itertools import groupby
from pathlib import Path

import yaml

from .citations import date_of, format_timestamp, person_line, timestamp_url
from .collections import get_collection
from .csvsafe import defuse_row
from .duplicates import DUPLICATE_FILTER
from .errors import PodpipeError
from .files import atomic_file
from .search import ITEM_JOINS, item_where, stream_query
from .urls import web_only

FORMATS = ("md", "html", "csv", "json", "jsonl", "readwise")
SUFFIXES = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".csv": "csv", ".json": "json",
            ".jsonl": "jsonl", ".ndjson": "jsonl"}
READWISE_HEADER = ["Highlight", "Title", "Author", "URL", "Note", "Location", "Date"]
LIST_FIELDS = ("topics", "segment_ids", "features")

# Every field of an item, its person, episode and feed, and its place in a collection.
FIELDS = [
    ("id", "i.id"), ("kind", "i.kind"), ("status", "i.status"), ("text", "coalesce(i.edited_text, i.text)"),
    ("original_text", "i.text"), ("edited", "i.edited_text is not null"), ("speaker", "i.speaker"),
    ("person", "p.name"), ("person_slug", "p.slug"), ("person_title", "p.title"), ("organization", "p.organization"),
    ("role", "r.name"), ("topics", "i.topics"), ("score", "i.score"), ("episode_id", "i.episode_id"),
    ("episode_guid", "e.guid"), ("episode_title", "e.title"), ("published", "e.published"), ("feed", "f.title"),
    ("start", "i.start"), ("end", 'i."end"'), ("timestamp", "null"), ("url", "null"), ("episode_link", "e.link"),
    ("enclosure_url", "e.enclosure_url"), ("source", "i.source"), ("transcript_source", "i.transcript_source"),
    ("model", "i.model"), ("extractor_version", "i.extractor_version"), ("segment_ids", "i.segment_ids"),
    ("features", "i.features"), ("created", "i.created"), ("updated", "i.updated"), ("reviewed", "i.reviewed"),
    ("position", "ci.position"), ("note", "ci.note"),
]
COLUMNS = ", ".join(f'{expr} as "{name}"' for name, expr in FIELDS)


# library keyword -> the command-line option, as the front matter names the filters
OPTION_NAMES = {"kinds": "kind", "statuses": "status", "episode_id": "episode", "collection_id": "collection"}


class ExportError(PodpipeError, ValueError):
    """An export that cannot be written; the message is for the user."""


def format_for(path, fmt=None):
    """The export format: as given, else from the file suffix, else Markdown."""
    if fmt:
        return fmt
    return SUFFIXES.get(Path(path).suffix.lower(), "md") if path else "md"


def _loads(value):
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _export_row(row):
    for key in LIST_FIELDS:
        row[key] = _loads(row[key])
    row["edited"] = bool(row["edited"])
    row["timestamp"] = format_timestamp(row["start"]) or None
    row["url"] = timestamp_url(row["episode_link"], row["enclosure_url"], row["start"])
    # the README promises only http(s) links, in every format
    row["episode_link"], row["enclosure_url"] = web_only(row["episode_link"]), web_only(row["enclosure_url"])
    return row


def select_items(db, *, collection=None, query=None, group_by_person=False, **filters):
    """(meta, rows): the items to export and a description of the selection.

    A collection keeps its order; a search is ranked; otherwise items go by
    episode date and time. group_by_person puts each person's items together
    (people by name) keeping that order within a person. Filters are those of
    ``search.item_where``; by default rejected items are left out.
    """
    meta = {"title": "Tips and quotes", "description": None, "collection": None, "query": query or None,
            "filters": {OPTION_NAMES.get(k, k): v for k, v in sorted(filters.items()) if v not in (None, [], (), "")}}
    collection_id = None
    if collection:
        row = get_collection(db, collection)
        collection_id = row["id"]
        meta.update(title=row["name"], description=row["description"], collection=row["name"])
    elif query:
        meta["title"] = f"Search: {query}"
    where, params = item_where(db, collection_id=collection_id, **filters)
    if collection_id is None and filters.get("ids") is None and "near_duplicates" in db.table_names():
        # a line said twice is exported once (pipeline.duplicates); a collection or
        # items asked for by id are an editor's own choice
        where += f" and {DUPLICATE_FILTER}"
    params["cid"] = collection_id
    source = f"items i {ITEM_JOINS}"
    order = ["e.published is null", "e.published", "i.episode_id", "i.start", "i.id"]
    if query:
        source = f"items_fts join items i on i.id = items_fts.rowid {ITEM_JOINS}"
        where += " and items_fts match :q"
        params["q"] = query
        order = ["bm25(items_fts)", "i.id"]
    if collection_id is not None:
        order = ["ci.position", "i.id"]
    if group_by_person:
        order = ["coalesce(p.name, i.speaker) is null", "coalesce(p.name, i.speaker)"] + order
    sql = (f"select {COLUMNS} from {source} left join collection_items ci on ci.item_id = i.id "
           f"and ci.collection_id = :cid where {where} order by {', '.join(order)}")
    return meta, stream_query(db, sql, params, query, _export_row)


# --- formats ----------------------------------------------------------------

def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value


def write_csv(rows, out, meta):
    writer = None
    n = 0
    for n, row in enumerate(rows, 1):
        if writer is None:
            writer = csv.writer(out)
            writer.writerow(list(row))
        writer.writerow([_csv_cell(v) for v in row.values()])
    if writer is None:  # no rows: still a header, so the file opens as a table
        csv.writer(out).writerow([name for name, _ in FIELDS])
    return n


def write_json(rows, out, meta):
    n = 0
    for n, row in enumerate(rows, 1):
        out.write(("[\n  " if n == 1 else ",\n  ") + json.dumps(row, ensure_ascii=False))
    out.write("\n]\n" if n else "[]\n")
    return n


def write_jsonl(rows, out, meta):
    n = 0
    for n, row in enumerate(rows, 1):
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return n


def _readwise_date(published):
    if not published:
        return ""
    try:
        when = datetime.datetime.fromisoformat(str(published))
    except ValueError:
        return str(published)
    if when.tzinfo:
        when = when.astimezone(datetime.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M:%S")


def write_readwise(rows, out, meta):
    """Readwise's CSV import: one highlight a row, the episode as the 'book'."""
    writer = csv.writer(out)
    writer.writerow(READWISE_HEADER)
    n = 0
    for n, row in enumerate(rows, 1):
        note = "; ".join(n for n in (row["note"], "edited for clarity" if row.get("edited_for_clarity") else None)
                         if n)
        writer.writerow([row["text"], row["episode_title"] or "", row["person"] or row["speaker"] or "",
                         row["url"] or "", note,
                         "" if row["start"] is None else int(row["start"]), _readwise_date(row["published"])])
    return n


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#!|~&])")
_MD_LINE_START = re.compile(r"^(\s*)([-+=]|\d+(?=[.)]))", re.M)


def md_escape(text):
    """Text that Markdown shows literally: no emphasis, links, HTML or lists."""
    text = _MD_SPECIAL.sub(r"\\\1", str(text or ""))
    return _MD_LINE_START.sub(lambda m: m.group(1) + ("\\" + m.group(2) if not m.group(2).isdigit()
                                                       else m.group(2) + "\\"), text)


def _md_url(url):
    return url.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")


def _person_key(row):
    return row["person"] or row["speaker"] or "Unknown speaker"


def _front_matter(meta, rows):
    front = {"title": meta["title"]}
    for key in ("description", "collection", "query"):
        if meta.get(key):
            front[key] = meta[key]
    if meta.get("filters"):
        front["filters"] = meta["filters"]
    front["items"] = len(rows)
    front["people"] = len({_person_key(r) for r in rows})
    return front


def write_markdown(rows, out, meta):
    """YAML front matter, then each person's items as blockquotes with a citation."""
    rows = list(rows)
    front = yaml.safe_dump(_front_matter(meta, rows), sort_keys=False, allow_unicode=True, width=10 ** 6)
    out.write(f"---\n{front}---\n\n# {md_escape(meta['title'])}\n\n")
    if meta.get("description"):
        out.write(md_escape(meta["description"]) + "\n\n")
    if not rows:
        out.write("No items.\n")
    for person, group in groupby(rows, key=_person_key):
        out.write(f"## {md_escape(person)}\n\n")
        for row in group:
            for line in row["text"].split("\n"):
                out.write(f"> {md_escape(line)}".rstrip() + "\n")
            cite = [md_escape(person_line(row))]
            if row["episode_title"]:
                cite.append(f"*{md_escape(row['episode_title'])}*")
            if row["published"]:
                cite.append(date_of(row["published"]))
            if row["timestamp"]:
                stamp = f"\\[{row['timestamp']}\\]"
                cite.append(f"[{stamp}](<{_md_url(row['url'])}>)" if row["url"] else stamp)
            if row.get("edited_for_clarity"):
                cite.append("*edited for clarity*")
            out.write(">\n> — " + ", ".join(cite) + "\n")
            if row["note"]:
                out.write(f"\n*Note:* {md_escape(row['note'])}\n")
            out.write("\n")
    return len(rows)


HTML_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{margin-top:2.5rem;border-bottom:1px solid #ddd}
figure{margin:1.5rem 0}
blockquote{margin:0;padding:.25rem 1rem;border-left:4px solid #999;white-space:pre-wrap}
figcaption{color:#555;font-size:.9rem;margin-top:.4rem}
.meta,.note,details{color:#555;font-size:.85rem}
"""


def _h(value):
    return html.escape("" if value is None else str(value), quote=True)


def write_html(rows, out, meta):
    """One self-contained page: inline CSS, no scripts allowed, every field escaped."""
    rows = list(rows)
    out.write("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
              # even if something slipped through escaping, the browser would run no script
              "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
              "style-src 'unsafe-inline'\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
              f"<title>{_h(meta['title'])}</title>\n<style>{HTML_STYLE}</style>\n</head>\n<body>\n"
              f"<h1>{_h(meta['title'])}</h1>\n")
    if meta.get("description"):
        out.write(f"<p>{_h(meta['description'])}</p>\n")
    out.write(f"<p class=\"meta\">{len(rows)} items</p>\n")
    for person, group in groupby(rows, key=_person_key):
        out.write(f"<section>\n<h2>{_h(person)}</h2>\n")
        for row in group:
            cite = [_h(person_line(row))]
            if row["episode_title"]:
                cite.append(f"<cite>{_h(row['episode_title'])}</cite>")
            if row["published"]:
                cite.append(f"<time datetime=\"{_h(date_of(row['published']))}\">{_h(date_of(row['published']))}"
                            "</time>")
            if row["timestamp"]:
                stamp = f"[{_h(row['timestamp'])}]"
                cite.append(f"<a href=\"{_h(row['url'])}\">{stamp}</a>" if row["url"] else stamp)
            out.write(f"<figure id=\"item-{_h(row['id'])}\">\n<blockquote>{_h(row['text'])}</blockquote>\n"
                      f"<figcaption>— {', '.join(cite)}</figcaption>\n")
            details = [row["kind"], row["status"]] + (row["topics"] if isinstance(row["topics"], list) else [])
            if row.get("edited_for_clarity"):
                details.append("edited for clarity")
            out.write(f"<p class=\"meta\">{_h(' · '.join(str(d) for d in details if d))}</p>\n")
            if row["edited"] or row.get("edited_for_clarity"):
                out.write(f"<details><summary>Verbatim</summary>{_h(row['original_text'])}</details>\n")
            if row["note"]:
                out.write(f"<p class=\"note\">Note: {_h(row['note'])}</p>\n")
            out.write("</figure>\n")
        out.write("</section>\n")
    out.write("</body>\n</html>\n")
    return len(rows)


WRITERS = {"md": write_markdown, "html": write_html, "csv": write_csv, "json": write_json,
           "jsonl": write_jsonl, "readwise": write_readwise}


def write_export(rows, fmt, *, meta=None, path=None, out=None, raw_csv=False):
    """Write rows in fmt to path (atomically) or to the file object out; returns the row count.

    CSV cells that a spreadsheet would run as formulas get a ' before them
    (csvsafe.py), unless raw_csv.
    """
    if fmt not in WRITERS:
        raise ExportError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    if fmt in ("csv", "readwise") and not raw_csv:
        rows = map(defuse_row, rows)
    meta = meta or {"title": "Tips and quotes"}
    if path is None:
        return WRITERS[fmt](rows, out, meta)
    path = Path(path)
    try:
        with atomic_file(path, newline="", perms="umask") as f:
            n = WRITERS[fmt](rows, f, meta)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    return n


def export_items(db, fmt, *, path=None, out=None, collection=None, query=None, raw_csv=False, clean=False,
                 **filters):
    """Select items (see ``select_items``) and write them; returns the row count.

    clean: the extractor's lightly cleaned words (``clean_text``) where no editor
    has edited the item, each such row marked ``edited_for_clarity``.
    """
    meta, rows = select_items(db, collection=collection, query=query, group_by_person=fmt in ("md", "html"),
                              **filters)
    if clean:
        rows = _cleaned(db, rows)
    return write_export(rows, fmt, meta=meta, path=path, out=out, raw_csv=raw_csv)


def _cleaned(db, rows):
    for row in rows:
        row["edited_for_clarity"] = False
        if not row["edited"]:
            found = db.execute("select clean_text from items where id = ?", [row["id"]]).fetchone()
            if found and found[0] and found[0] != row["text"]:
                row["text"], row["edited_for_clarity"] = found[0], True
        yield row
