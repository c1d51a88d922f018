"""Full-text search over items (tips and quotes) and transcript segments.

Both FTS5 tables use the porter tokenizer (see ``db.ensure_db_shape``), so
"customer" finds "customers"; the usual FTS5 syntax works: "a phrase",
prefix*, AND / OR / NOT, NEAR(a b, 5). A malformed query becomes a
``SearchError`` with a sentence for the user, never an SQL traceback.

Ranking is FTS5's bm25. Scoring every match of a very common word in a
million segments takes longer than a search should, so we rank the newest
``RANK_WINDOW`` matches (highest rowids: the most recently added) and say so
in the docs; filters are applied before the window, and every query that
matches fewer rows than the window is ranked exactly.
"""
import datetime
import json
import re
import sqlite3

from .citations import format_timestamp, timestamp_url
from .errors import PodpipeError

ITEM_KINDS = ("quote", "tip")
KINDS = ITEM_KINDS + ("segment",)
STATUSES = ("pending", "approved", "rejected")
# the topic taxonomy (pipeline.extract.TOPICS holds its keywords)
TOPICS = (
    "customers", "business and metrics", "roadmap and requirements", "launches and marketing",
    "competitive analysis", "stakeholder communication", "engineering and technical skills",
    "design and prototyping", "career and getting into product", "leadership",
)
RANK_WINDOW = 5_000
HIGHLIGHT = ("[", "]")
SNIPPET_TOKENS = 12
# The result rows come from one more pass of the index, over the rowid range the top
# hits span: FTS5 answers a range itself, the IN filter (its + keeps SQLite from
# handing it to FTS5 as one lookup per id) uses an index SQLite builds on `top`, and
# snippet() and bm25() run only for the rows that pass it. Joining a `snippets` CTE
# instead scanned it once per result row: the cost grew with the square of the rows.
# (A MATCH per result costs a prefix* query its whole expansion every time.)
TOP_ROWS = """{fts} match :match and {fts}.rowid between (select min(id) from top) and (select max(id) from top)
  and +{fts}.rowid in (select id from top)"""

# The joins every item query uses; filters refer to these aliases.
ITEM_JOINS = """
left join people p on p.id = i.person_id
left join roles r on r.id = p.role_id
left join episodes e on e.id = i.episode_id
left join feeds f on f.id = e.feed_id"""


class SearchError(PodpipeError, ValueError):
    """A search that cannot run as asked; the message is for the user."""


def fts_error(query, exc):
    """A SearchError for an sqlite3 error raised by a MATCH, or None if it is another error."""
    message = str(exc)
    if not query:
        return None
    markers = ("fts5:", "no such column", "unknown special query", "malformed MATCH", "unterminated string")
    if not any(m in message for m in markers):
        return None
    return SearchError(
        f"invalid search query {query!r} ({message}). Use words, \"a phrase\", prefix*, AND, OR, NOT; "
        f"put words with punctuation in double quotes (\"e-mail\"), or pass --quote to search the words literally")


def quote_query(query):
    """Each word of a query as a literal FTS5 string, so punctuation means nothing."""
    words = (query or "").split()
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def _since(value):
    if value is None:
        return None
    text = str(value)[:10]
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        raise SearchError(f"--since wants a date like 2024-01-31, not {value!r}") from None
    return text


def role_names(db, role):
    """The lower-cased names of roles matching `role` ("product managers" finds "Product Manager")."""
    from .role_pages import normalize_role_name

    wanted = {role.strip().lower(), (normalize_role_name(role.strip()) or "").lower()}
    names = [r[0] for r in db.execute("select name from roles order by name")]
    found = [n.lower() for n in names if n.lower() in wanted]
    if not found:
        known = ", ".join(names) if names else "none yet (import role pages first)"
        raise SearchError(f"no role named {role!r}; known roles: {known}")
    return found


def _topic(db, topic):
    # the taxonomy first: reading every distinct topic of a large item_topics costs a scan
    for t in TOPICS:
        if t.lower() == topic.strip().lower():
            return t
    known = list(TOPICS)
    known += [r[0] for r in db.execute("select distinct topic from item_topics order by topic") if r[0] not in known]
    for t in known:
        if t.lower() == topic.strip().lower():
            return t
    raise SearchError(f"unknown topic {topic!r}; topics: {', '.join(known)}")


def _feed_ids(db, feed):
    from .feeds import FeedError, feed_rows

    try:
        return [r["id"] for r in feed_rows(db, [str(feed)])]
    except FeedError as exc:
        raise SearchError(str(exc)) from None


def _in(name, values, params):
    keys = []
    for n, v in enumerate(values):
        params[f"{name}{n}"] = v
        keys.append(f":{name}{n}")
    return f"({', '.join(keys)})"


def episode_where(db, params, *, feed=None, since=None, episode_id=None):
    """Conditions on an episode (alias e) by feed, publication date and id; fills params."""
    where = []
    if feed:
        where.append(f"e.feed_id in {_in('feed', _feed_ids(db, feed), params)}")
    if since:
        params["since"] = _since(since)
        where.append("e.published >= :since")
    if episode_id is not None:
        params["episode_id"] = int(episode_id)
        where.append("e.id = :episode_id")
    return where


def item_where(db, *, kinds=None, person=None, role=None, feed=None, topic=None, since=None, statuses=None,
               episode_id=None, collection_id=None, ids=None):
    """SQL conditions and parameters selecting items (aliases i, p, r, e, f of ITEM_JOINS).

    statuses: a list of statuses, or None for every status except 'rejected';
    ["all"] means every status.
    """
    where, params = [], {}
    kinds = [k for k in (kinds or ()) if k]
    for k in kinds:
        if k not in ITEM_KINDS:
            raise SearchError(f"unknown kind {k!r}; items are {' or '.join(ITEM_KINDS)}")
    if kinds:
        where.append(f"i.kind in {_in('kind', kinds, params)}")
    statuses = list(statuses or ())
    if not statuses:
        where.append("coalesce(i.status, 'pending') != 'rejected'")
    elif "all" not in statuses:
        for s in statuses:
            if s not in STATUSES:
                raise SearchError(f"unknown status {s!r}; choose from {', '.join(STATUSES)}")
        where.append(f"coalesce(i.status, 'pending') in {_in('status', statuses, params)}")
    if person:
        params["person"] = f"%{person.strip()}%"
        where.append("(p.name like :person or i.speaker like :person)")
    if role:
        where.append(f"lower(r.name) in {_in('role', role_names(db, role), params)}")
    if topic:
        params["topic"] = _topic(db, topic)
        where.append("i.id in (select item_id from item_topics where topic = :topic)")
    where += episode_where(db, params, feed=feed, since=since)
    if episode_id is not None:
        # on the items' own column, which their index answers (a left join's e.id would not)
        params["episode_id"] = int(episode_id)
        where.append("i.episode_id = :episode_id")
    if collection_id is not None:
        params["collection_id"] = collection_id
        where.append("i.id in (select item_id from collection_items where collection_id = :collection_id)")
    if ids is not None:
        where.append(f"i.id in {_in('id', [int(i) for i in ids], params)}" if ids else "0")
    return " and ".join(where) or "1", params


def stream_query(db, sql, params, query, convert):
    """Run a query now (so a bad MATCH raises here), then stream converted rows."""
    try:
        cursor = db.execute(sql, params)
    except sqlite3.OperationalError as exc:
        error = fts_error(query, exc)
        if error:
            raise error from None
        raise
    columns = [d[0] for d in cursor.description]

    def generate():
        for values in cursor:
            yield convert(dict(zip(columns, values)))

    return generate()


def _with_citation(row):
    row["time"] = format_timestamp(row.get("start"))
    row["url"] = timestamp_url(row.pop("episode_link", None), row.pop("enclosure_url", None), row.get("start"))
    return row


ITEM_COLUMNS = """
i.id, i.kind, i.status, coalesce(i.edited_text, i.text) as text, coalesce(p.name, i.speaker) as speaker,
r.name as role, p.organization, i.topics, i.score, i.episode_id, e.title as episode, e.published, f.title as feed,
i.start, i."end", e.link as episode_link, e.enclosure_url"""


def search_items(db, query=None, *, limit=None, rank_window=RANK_WINDOW, highlight=HIGHLIGHT, **filters):
    """Items matching an FTS query and filters, best first; an iterator of dicts.

    Without a query every item passing the filters comes back, highest
    extractor score first. Each row has a snippet with the matched words
    between the highlight markers, the speaker, role, episode, time and a
    link to that second of the episode.
    """
    where, params = item_where(db, **filters)
    params["limit"] = -1 if limit is None else int(limit)
    query = (query or "").strip() or None
    if query is None:
        sql = (f"select {ITEM_COLUMNS}, null as rank, substr(coalesce(i.edited_text, i.text), 1, 200) as snippet "
               f"from items i {ITEM_JOINS} where {where} order by i.score desc nulls last, i.id limit :limit")
        return stream_query(db, sql, params, query, _with_citation)
    params.update(match=query, hl_open=highlight[0], hl_close=highlight[1], window=rank_window or -1)
    sql = f"""
with hits as (
  select i.id, bm25(items_fts) as rank
  from items_fts join items i on i.id = items_fts.rowid {ITEM_JOINS}
  where items_fts match :match and {where}
  order by items_fts.rowid desc limit :window
), top as (select id from hits order by rank, id limit :limit)
select {ITEM_COLUMNS}, round(bm25(items_fts), 4) as rank,
  snippet(items_fts, case when i.edited_text is null then 0 else 1 end,
          :hl_open, :hl_close, '…', {SNIPPET_TOKENS}) as snippet
from items_fts join items i on i.id = items_fts.rowid {ITEM_JOINS}
where {TOP_ROWS.format(fts="items_fts")}
order by bm25(items_fts), i.id"""
    return stream_query(db, sql, params, query, _with_citation)


def matching_item_ids(db, query=None, **filters):
    """Ids of every item matching the query and filters, best first (no rank window)."""
    return [row["id"] for row in search_items(db, query, rank_window=None, **filters)]


def search_segments(db, query, *, person=None, role=None, feed=None, since=None, episode_id=None, limit=None,
                    rank_window=RANK_WINDOW, highlight=HIGHLIGHT, **item_only):
    """Transcript segments matching an FTS query, best first; an iterator of dicts."""
    options = {"topic": "--topic", "statuses": "--status", "collection_id": "--collection", "kinds": "--kind"}
    unsupported = [options.get(k, k) for k, v in sorted(item_only.items()) if v]
    if unsupported:
        raise SearchError(f"{', '.join(unsupported)} applies to tips and quotes, not transcript segments")
    query = (query or "").strip()
    if not query:
        raise SearchError("searching transcript segments needs a query")
    # person and role filters go into the MATCH, on the speaker column: the index answers them
    match = [f"({query})"]
    if person:
        words = re.findall(r"\w+", person)
        if not words:
            raise SearchError(f"--person wants a name, not {person!r}")
        # whole words, not prefixes: a one-letter prefix would expand to half the vocabulary
        match.append("speaker : (" + " ".join(f'"{w}"' for w in words) + ")")
    if role:
        wanted = role_names(db, role)
        names = [r[0] for r in db.execute(
            f"select distinct p.name from people p join roles r on r.id = p.role_id "
            f"where lower(r.name) in ({', '.join('?' * len(wanted))}) order by p.name", wanted)
            if re.search(r"\w", r[0] or "")]
        phrases = " OR ".join('"' + n.replace('"', '""') + '"' for n in names)
        match.append(f"speaker : ({phrases})" if names else "speaker : (\"\")")
    where, params = [], {}
    episodes = episode_where(db, params, feed=feed, since=since, episode_id=episode_id)
    if episodes:
        where.append("s.transcript_id in (select t.id from transcripts t join episodes e on e.id = t.episode_id "
                     f"where {' and '.join(episodes)})")
    match = " AND ".join(match) if len(match) > 1 else query
    params.update(match=match, hl_open=highlight[0], hl_close=highlight[1], window=rank_window or -1,
                  limit=-1 if limit is None else int(limit))
    segment = f"""segments_fts.rowid as id, s.text, s.speaker, s.transcript_id, s.start, s."end",
  snippet(segments_fts, 0, :hl_open, :hl_close, '…', {SNIPPET_TOKENS}) as snippet"""
    filtered = "".join(" and " + w for w in where)
    if limit is None or (rank_window and limit >= rank_window):
        # every hit in the window is a result: one pass computes rank and snippet together
        sql = f"""
select * from (
  select {segment}, bm25(segments_fts) as bm25
  from segments_fts join segments s on s.id = segments_fts.rowid
  where segments_fts match :match {filtered}
  order by segments_fts.rowid desc limit :window
) order by bm25, id"""
        return stream_query(db, sql, params, query, _segment_row(db))
    # Rank first, reading the index alone (the segment rows only when a filter needs them) ...
    joins = "join segments s on s.id = segments_fts.rowid" if where else ""
    top = stream_query(db, f"""
select id, rank from (
  select segments_fts.rowid as id, bm25(segments_fts) as rank
  from segments_fts {joins}
  where segments_fts match :match {filtered}
  order by segments_fts.rowid desc limit :window
) order by rank, id limit :limit""", params, query, lambda row: row)
    ranks = {row["id"]: row["rank"] for row in top}
    if not ranks:
        return iter(())
    # ... then the rows and snippets of the top ones, in one pass of the index over the
    # rowid range they span (see TOP_ROWS), matching the query alone: the speaker
    # filters added to it only narrowed which rows ranked, and cost time per row.
    rows = list(stream_query(db, f"""
select {segment}
from segments_fts join segments s on s.id = segments_fts.rowid
where segments_fts match :q and segments_fts.rowid between :low and :high
  and +segments_fts.rowid in (select value from json_each(:ids))""",
        {"q": query, "hl_open": highlight[0], "hl_close": highlight[1], "low": min(ranks), "high": max(ranks),
         "ids": json.dumps(list(ranks))}, query, lambda row: row))
    for row in rows:
        row["bm25"] = ranks[row["id"]]
    rows.sort(key=lambda row: (row["bm25"], row["id"]))
    return map(_segment_row(db), rows)


def _segment_row(db):
    """Turns a segment hit into a result row. The episode, feed and speaker's role come
    from dictionaries filled once per transcript and once per search, not from joins
    made again for every row (thousands of rows share a few hundred episodes)."""
    roles = {}
    for name, role_name in db.execute("select p.name, r.name from people p join roles r on r.id = p.role_id "
                                      "order by p.id desc"):
        roles[(name or "").lower()] = role_name  # the lowest id wins
    episodes = {}
    episode_sql = ("select e.id, e.title, e.published, f.title, e.link, e.enclosure_url from transcripts t "
                   "join episodes e on e.id = t.episode_id join feeds f on f.id = e.feed_id where t.id = ?")

    def convert(hit):
        tid = hit["transcript_id"]
        if tid not in episodes:
            episodes[tid] = db.execute(episode_sql, [tid]).fetchone() or (None,) * 6
        episode_id, title, published, feed, link, enclosure_url = episodes[tid]
        row = {"id": hit["id"], "kind": "segment", "status": None, "text": hit["text"], "speaker": hit["speaker"],
               "role": roles.get((hit["speaker"] or "").lower()), "organization": None, "topics": None,
               "score": None, "episode_id": episode_id, "episode": title, "published": published, "feed": feed,
               "start": hit["start"], "end": hit["end"], "episode_link": link, "enclosure_url": enclosure_url,
               "rank": round(hit["bm25"], 4), "snippet": hit["snippet"]}
        return _with_citation(row)

    return convert


def search(db, query=None, *, kind=None, **filters):
    """Search items, or transcript segments when kind is 'segment'."""
    if kind == "segment":
        return search_segments(db, query, **filters)
    if kind and kind not in ITEM_KINDS:
        raise SearchError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    return search_items(db, query, kinds=[kind] if kind else None, **filters)
