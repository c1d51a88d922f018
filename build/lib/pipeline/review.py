"""Editors' review of extracted items: approve, reject, edit the text, change
the kind. The verbatim text is never changed: an edit goes to ``edited_text``
and exports show it with the original alongside."""
from .db import utcnow
from .errors import PodpipeError
from .search import ITEM_KINDS, ITEM_JOINS, STATUSES, item_where


class ReviewError(PodpipeError, ValueError):
    """An item that cannot be changed as asked; the message is for the user."""


def fetch_items(db, ids):
    """Item rows by id, in the order given; ReviewError names the first unknown id."""
    rows = []
    for item_id in ids:
        row = db.execute("select id from items where id = ?", [int(item_id)]).fetchone()
        if row is None:
            raise ReviewError(f"no item with id {item_id} (see 'podpipe search')")
        rows.append(db["items"].get(row[0]))
    return rows


def set_status(db, ids, status):
    """Approve or reject (or reset to pending) items; returns how many changed.

    Unknown ids raise ReviewError before anything is changed.
    """
    if status not in STATUSES:
        raise ReviewError(f"unknown status {status!r}; choose from {', '.join(STATUSES)}")
    rows = fetch_items(db, ids)
    now = utcnow()
    changed = 0
    with db.atomic():
        for row in rows:
            if row["status"] != status:
                changed += 1
            db["items"].update(row["id"], {"status": status, "reviewed": now, "updated": now})
    return changed


def edit_item(db, item_id, *, text=None, kind=None):
    """Change an item's text (kept beside the verbatim original) and/or kind; returns the row."""
    (row,) = fetch_items(db, [item_id])
    changes = {}
    if text is not None:
        if not text.strip():
            raise ReviewError("the edited text is empty; to drop an item, reject it")
        # editing back to the verbatim words removes the edit
        changes["edited_text"] = None if text == row["text"] else text
    if kind is not None:
        if kind not in ITEM_KINDS:
            raise ReviewError(f"unknown kind {kind!r}; choose from {', '.join(ITEM_KINDS)}")
        changes["kind"] = kind
    if changes:
        changes["updated"] = utcnow()
        db["items"].update(row["id"], changes)
    return db["items"].get(row["id"])


def skip_item(db, item_id):
    """Leave an item pending but mark it seen, so a resumed review shows it last."""
    fetch_items(db, [item_id])
    db["items"].update(int(item_id), {"reviewed": utcnow()})


REVIEW_COLUMNS = """
i.id, i.kind, i.status, i.text, i.edited_text, coalesce(p.name, i.speaker) as speaker, p.title as person_title,
p.organization, r.name as role, i.topics, i.score, i.episode_id, e.title as episode, e.published, i.start, i."end",
i.reviewed, p.slug as person_slug, i.transcript_id, i.segment_ids, i.source, e.audio_path, e.enclosure_url,
e.link as episode_link, f.title as feed"""


def _review_columns(db):
    # clean_text (a lightly cleaned machine version) arrives with a later migration; show it when there
    return REVIEW_COLUMNS + (", i.clean_text" if "clean_text" in db["items"].columns_dict else "")


def fetch_review_item(db, item_id):
    """One item with its person, role and episode, as the review shows it."""
    fetch_items(db, [item_id])
    return next(db.query(f"select {_review_columns(db)} from items i {ITEM_JOINS} where i.id = ?", [int(item_id)]))


def pending_items(db, *, episode_id=None, collection_id=None, order="episode", limit=None, min_score=None,
                  **filters):
    """Pending items in review order: never-seen first, then skipped ones (longest ago first).

    order "episode" goes by episode date and time (the CLI's review); "score"
    goes best first (the desk's queue). ``filters`` are those of
    ``search.item_where`` (kinds, person, role, feed, topic, since); min_score
    keeps items the extractor scored at least that high.

    Because every decision is saved at once, a review that stopped halfway
    resumes at the first item nobody has looked at.
    """
    if order not in ("episode", "score"):
        raise ReviewError(f"unknown review order {order!r}")
    where, params = item_where(db, statuses=["all"], episode_id=episode_id, collection_id=collection_id,
                               **filters)
    if min_score is not None:
        where += " and i.score >= :min_score"
        params["min_score"] = float(min_score)
    if order == "score":
        # NULL sorts first, so never-seen items lead; the desk_queue index (status, reviewed, score)
        # answers this in index order, without sorting every pending item
        where += " and i.status = 'pending'"
        sort = "i.reviewed, i.score desc, i.id"
    else:
        where += " and coalesce(i.status, 'pending') = 'pending'"
        sort = ("i.reviewed is not null, i.reviewed, e.published is null, e.published, i.episode_id, "
                "i.start, i.id")
    sql = f"select {_review_columns(db)} from items i {ITEM_JOINS} where {where} order by {sort}"
    if limit is not None:
        sql += f" limit {int(limit)}"
    return list(db.query(sql, params))


def count_pending(db, *, min_score=None, **filters):
    """How many items are pending among those passing the filters (see ``pending_items``)."""
    filtered = any(v not in (None, "", [], ()) for v in filters.values())
    where, params = item_where(db, statuses=["all"], **filters)
    # unfiltered, the status index counts alone; filtered, '+' keeps SQLite from walking every
    # pending item through that index and lets it start from the narrower filter (a topic's items)
    where += " and +i.status = 'pending'" if filtered else " and i.status = 'pending'"
    if min_score is not None:
        where += " and i.score >= :min_score"
        params["min_score"] = float(min_score)
    joins = ITEM_JOINS if filtered else ""
    return db.execute(f"select count(*) from items i {joins} where {where}", params).fetchone()[0]


def describe(row, n=None, total=None):
    """The item as the interactive review shows it: header, who, where, the text."""
    import json

    from .citations import date_of, format_timestamp

    head = f"[{n}/{total}] " if n else ""
    lines = [f"{head}{row['kind']} #{row['id']} · {row['status']}"
             + (f" · score {row['score']:.2f}" if row.get("score") is not None else "")]
    who = row["speaker"] or "Unknown speaker"
    extra = [x for x in (row.get("role"), row.get("person_title"), row.get("organization")) if x]
    lines.append(who + (f" ({', '.join(extra)})" if extra else ""))
    where = [x for x in (row.get("episode"), date_of(row.get("published")), format_timestamp(row.get("start"))) if x]
    if where:
        lines.append(" · ".join(where))
    try:
        topics = json.loads(row.get("topics") or "[]")
    except ValueError:
        topics = []
    if topics:
        lines.append("Topics: " + ", ".join(topics))
    lines.append("")
    lines.extend("    " + line for line in (row["edited_text"] or row["text"]).split("\n"))
    if row["edited_text"]:
        lines.append("")
        lines.append("  verbatim: " + row["text"])
    return "\n".join(lines)
