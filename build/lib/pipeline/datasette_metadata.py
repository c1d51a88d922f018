"""Datasette metadata for the research database: titles and descriptions, full-text
search on items and segments, facets, and canned queries for the views.

    podpipe serve                              # runs Datasette with this metadata
    podpipe serve --print-metadata > metadata.json
    datasette db/podpipe.db -m metadata.json
"""
from pathlib import Path

ITEM_FACETS = ["kind", "status", "person", "role", {"array": "topics"}]


def _table(description, **extra):
    return {"description": description, **extra}


def metadata(db_name="podpipe"):
    """The metadata dict for a database Datasette calls `db_name` (the file name without .db)."""
    tables = {
        "items": _table(
            "Tips and quotes extracted from interviews. text is verbatim; edited_text is an editor's version. "
            "status: pending, approved or rejected.",
            fts_table="items_fts", fts_pk="id", searchmode="raw",
            facets=["kind", "status", "speaker", {"array": "topics"}, "source"], sort_desc="score"),
        "items_full": _table(
            "Every item with its person, role, episode and feed: the table to start from.",
            fts_table="items_fts", fts_pk="id", searchmode="raw", facets=ITEM_FACETS, sort_desc="score"),
        "tips_by_role": _table("Tips, grouped by the role of the person who gave them.",
                               facets=["role", "status"]),
        "quotes_by_topic": _table("Quotes under each topic they are tagged with.",
                                  facets=["topic", "role", "status"]),
        "items_by_topic": _table("Every item under each of its topics, with person, role and episode.",
                                 facets=["topic", "kind", "role", "status"]),
        "segments": _table("Transcript segments: who said what, and when (start and end in seconds).",
                           fts_table="segments_fts", fts_pk="id", searchmode="raw", facets=["speaker"]),
        "people": _table("Hosts, guests and profile subjects.", label_column="name", facets=["organization"]),
        "profiles": _table("One row per person: role, title, organization and what it does, location, education, "
                           "background (verbatim), past titles (history) and how many items they have.",
                           facets=["role", "organization"]),
        "roles": _table("Roles (Product Manager, ...) with their definitions.", label_column="name"),
        "episodes": _table("Podcast episodes.", label_column="title", facets=["status"], sort_desc="published"),
        "feeds": _table("Subscribed podcast feeds.", label_column="title"),
        "collections": _table("Editors' collections of items, exported with 'podpipe export NAME'.",
                              label_column="name"),
        "collection_items": _table("Items in each collection, in order (position) with the editor's note."),
        "item_topics": _table("One row per item and topic.", facets=["topic"]),
    }
    queries = {
        "tips_by_role_and_topic": {
            "title": "Tips by role and topic",
            "description": "Every tip by people in a role about a topic, e.g. Product Manager and customers. "
                           "Leave a field empty to match all.",
            "sql": "select i.role, i.person, i.text, i.episode_title, i.published, i.start, i.status, i.id\n"
                   "from items_by_topic i\n"
                   "where i.kind = 'tip' and (:role = '' or i.role = :role) and (:topic = '' or i.topic = :topic)\n"
                   "order by i.role, i.person, i.published, i.start",
        },
        "quotes_by_topic": {
            "title": "Quotes by topic",
            "sql": "select * from quotes_by_topic where :topic = '' or topic = :topic",
        },
        "search_items": {
            "title": "Search tips and quotes",
            "description": "Full-text search (porter stemming; \"phrases\" and prefix* work), best first.",
            "sql": "select i.id, i.kind, snippet(items_fts, -1, '[', ']', '…', 24) as snippet, i.person, "
                   "i.role, i.episode_title, i.start, i.status\n"
                   "from items_fts join items_full i on i.id = items_fts.rowid\n"
                   "where items_fts match :q order by items_fts.rank limit 100",
        },
        "search_segments": {
            "title": "Search transcripts",
            "sql": "select s.id, snippet(segments_fts, 0, '[', ']', '…', 24) as snippet, s.speaker, "
                   "e.title as episode, s.start\n"
                   "from segments_fts join segments s on s.id = segments_fts.rowid\n"
                   "join transcripts t on t.id = s.transcript_id join episodes e on e.id = t.episode_id\n"
                   "where segments_fts match :q order by segments_fts.rank limit 100",
        },
    }
    return {
        "title": "podpipe research database",
        "description": "Tips and quotes from podcast interviews with product managers, with transcripts, "
                       "people, roles and episodes.",
        "databases": {db_name: {"tables": tables, "queries": queries}},
    }


def metadata_for(path):
    """The metadata for the database file at path."""
    return metadata(Path(path).stem)
