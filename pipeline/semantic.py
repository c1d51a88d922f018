"""Search by meaning: semantic and hybrid search, and "who else said this".

Semantic search embeds the query with the sentence encoder and takes the
nearest items (or transcript passages) from pipeline.vectors; hybrid search
merges that list with FTS5's by reciprocal rank fusion (each result scores
the sum of 1 / (RRF_K + its rank) over the lists it is in), so a result both
find comes first and either alone still counts. Every filter of
``search.search`` applies, and rows have the same columns as its rows.
"""
from .search import ITEM_KINDS, KINDS, SearchError, search_items, search_segments

MODES = ("fts", "semantic", "hybrid")
RRF_K = 60
# from each list before fusing: deeper lists let results that both rank low
# outrank one that either ranks first (nDCG@10 0.32 with 50, 0.39 with 20: bench/search_quality.py)
CANDIDATES = 20
WIDEN = 8


def has_embeddings(db, kind="item"):
    """True when the database holds vectors of this kind for the current model."""
    # a plain query first: a database without vectors never pays for importing numpy
    if not db.execute("select 1 from sqlite_master where name = 'embeddings'").fetchone() or \
            not db.execute("select 1 from embeddings where kind = ? limit 1", [kind]).fetchone():
        return False
    from .vectors import model_tag

    return db.execute("select 1 from embeddings where kind = ? and model = ? limit 1",
                      [kind, model_tag()]).fetchone() is not None


def default_mode(db, kind=None):
    """hybrid when there are vectors to search (and the encoder to embed the query), else fts."""
    if not has_embeddings(db, "passage" if kind == "segment" else "item"):
        return "fts"  # before importing the encoder: it brings numpy, which a words-only search never needs
    from .encoder import available

    return "hybrid" if available() else "fts"


def embed_query(query):
    from .encoder import encode

    return encode([query])[0]


def _filtered(db, kind, ranked, filters, limit):
    """The rows of ranked (ref_id, score) pairs that pass the filters, in order, at most limit."""
    if not ranked:
        return []
    if kind == "segment":
        rows = passage_rows(db, [i for i, _ in ranked], **filters)
    else:
        rows = {r["id"]: r for r in search_items(db, None, ids=[i for i, _ in ranked], **filters)}
    out = []
    for ref_id, score in ranked:
        if ref_id in rows:
            out.append({**rows[ref_id], "rank": round(score, 4)})
            if limit and len(out) >= limit:
                break
    return out


def semantic_ranked(db, kind, vector, filters, want, exclude=()):
    """Rows nearest a vector that pass the filters: asks the index for more until ``want`` pass."""
    from .vectors import nearest

    vkind = "passage" if kind == "segment" else "item"
    k = max(want * 4, CANDIDATES)
    total = db.execute("select count(*) from embeddings where kind = ?", [vkind]).fetchone()[0]
    while True:
        ranked = nearest(db, vkind, vector, k, exclude=exclude)
        rows = _filtered(db, kind, ranked, filters, want)
        if len(rows) >= want or k >= total:
            return rows
        k *= WIDEN


def search_by_meaning(db, query, *, kind=None, mode="hybrid", limit=None, **filters):
    """Search in a mode of MODES; a list of rows like ``search.search``'s, best first."""
    if mode not in MODES:
        raise SearchError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    if kind and kind not in KINDS:
        raise SearchError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    query = (query or "").strip()
    if not query:
        raise SearchError(f"{mode} search needs a query")
    vkind = "passage" if kind == "segment" else "item"
    if not has_embeddings(db, vkind):
        raise SearchError(f"no {vkind} vectors for the current model yet: run 'podpipe embed' first")
    if kind != "segment":
        filters["kinds"] = [kind] if kind else None
    want = limit or 10
    depth = max(want, CANDIDATES)
    semantic = semantic_ranked(db, kind, embed_query(query), filters, depth)
    if mode == "semantic":
        return semantic[:want]
    lexical = _fts_rows(db, query, kind, filters, depth)
    return fuse([lexical, semantic], want)


def _fts_rows(db, query, kind, filters, limit):
    """FTS5's best rows. A query FTS5 cannot parse, or that matches nothing,
    is searched again as any of its words (a plain question with a comma or
    an apostrophe should still find by words too)."""
    def run(q):
        if kind == "segment":
            return _segments_as_passages(db, list(search_segments(db, q, limit=limit, **filters)))
        return list(search_items(db, q, limit=limit, **filters))

    try:
        rows = run(query)
    except SearchError:
        rows = []
    # A question rarely has every word in one passage: then any of its words will do (bm25 weighs them).
    return rows or run(any_words(query))


def any_words(query):
    """An FTS5 query matching any word of the text, each taken literally."""
    import re

    return " OR ".join(f'"{w}"' for w in re.findall(r"\w+", query)) or '""'


def fuse(lists, limit):
    """Reciprocal rank fusion of ranked row lists (rows keyed by id); the fused score is the rank."""
    scores, rows = {}, {}
    for ranked in lists:
        for rank, row in enumerate(ranked, 1):
            scores[row["id"]] = scores.get(row["id"], 0.0) + 1.0 / (RRF_K + rank)
            # the FTS row comes first and keeps its highlighted snippet
            rows.setdefault(row["id"], row)
    order = sorted(scores, key=lambda i: (-scores[i], i))[:limit]
    return [{**rows[i], "rank": round(scores[i], 5)} for i in order]


# --- passages as search rows ---------------------------------------------------------

PASSAGE_SQL = """
select p.id, 'segment' as kind, null as status, p.text, p.speaker,
  (select r.name from people pe join roles r on r.id = pe.role_id where lower(pe.name) = lower(p.speaker)
   order by pe.id limit 1) as role,
  null as organization, null as topics, null as score, e.id as episode_id, e.title as episode, e.published,
  f.title as feed, p.start, p."end", e.link as episode_link, e.enclosure_url,
  substr(p.text, 1, 200) as snippet
from passages p join episodes e on e.id = p.episode_id join feeds f on f.id = e.feed_id"""


def passage_rows(db, ids, *, person=None, role=None, feed=None, since=None, episode_id=None, **item_only):
    """{passage id: row} for these passages that pass the segment filters of ``search.search_segments``."""
    from .search import _in, _with_citation, episode_where, role_names

    unsupported = [k for k, v in item_only.items() if v and k != "kinds"]
    if unsupported:
        raise SearchError(f"{', '.join(unsupported)} applies to tips and quotes, not transcript segments")
    params = {}
    where = [f"p.id in {_in('id', ids, params)}"]
    if person:
        params["person"] = f"%{person.strip()}%"
        where.append("p.speaker like :person")
    if role:
        where.append(f"lower(p.speaker) in (select lower(pe.name) from people pe join roles r on r.id = pe.role_id "
                     f"where lower(r.name) in {_in('role', role_names(db, role), params)})")
    where += episode_where(db, params, feed=feed, since=since, episode_id=episode_id)
    cursor = db.execute(f"{PASSAGE_SQL} where {' and '.join(where)}", params)
    columns = [d[0] for d in cursor.description]
    return {row["id"]: row for row in (_with_citation(dict(zip(columns, r))) for r in cursor)}


def _segments_as_passages(db, rows):
    """FTS segment rows as the passages that hold them (first passage of a
    segment), keeping FTS order and snippets, so both lists name the same things."""
    out, seen = [], set()
    for row in rows:
        found = db.execute(
            "select p.id, p.text, p.start, p.\"end\" from passages p join segments s on s.transcript_id = p.transcript_id "
            "where s.id = ? and s.idx between p.first_idx and p.last_idx order by p.id limit 1", [row["id"]]).fetchone()
        if found and found[0] not in seen:
            seen.add(found[0])
            out.append({**row, "id": found[0], "text": found[1], "start": found[2], "end": found[3]})
    return out


# --- who else said this ------------------------------------------------------------

def similar(db, item_id, *, kind=None, limit=10, other_episodes=False, **filters):
    """The items (kind 'segment': transcript passages) nearest one item, best
    first, leaving out the item itself and its near-duplicate group."""
    from .vectors import vector_of

    vector = vector_of(db, "item", item_id)
    if vector is None:
        if not db.execute("select 1 from items where id = ?", [item_id]).fetchone():
            raise SearchError(f"no item {item_id}")
        raise SearchError(f"item {item_id} has no vector yet: run 'podpipe embed' first")
    if kind and kind not in KINDS:
        raise SearchError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    exclude = {item_id} | {r[0] for r in db.execute(
        "select item_id from near_duplicates where group_id = (select group_id from near_duplicates where item_id = ?)",
        [item_id])}
    if kind != "segment":
        filters["kinds"] = [kind] if kind else list(ITEM_KINDS)
        if other_episodes:
            episode = db.execute("select episode_id from items where id = ?", [item_id]).fetchone()[0]
            exclude |= {r[0] for r in db.execute("select id from items where episode_id = ?", [episode])}
        return semantic_ranked(db, kind, vector, filters, limit, exclude=exclude)[:limit]
    return semantic_ranked(db, kind, vector, filters, limit)[:limit]
