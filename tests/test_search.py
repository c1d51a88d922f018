import json
import sqlite3

import pytest
from click.testing import CliRunner

from items_fixture import make_db
from pipeline.cli import cli
from pipeline.search import SearchError, search_items, search_segments


@pytest.fixture
def fixture_db(db_path):
    return make_db(db_path)


def run(db_path, *args):
    return CliRunner().invoke(cli, [*args, "--db", str(db_path)], catch_exceptions=False)


def ids(rows):
    return [r["id"] for r in rows]


def test_search_table_has_snippet_speaker_role_episode_and_time(fixture_db, db_path):
    result = run(db_path, "search", "customers", "-t")
    assert result.exit_code == 0
    assert result.output == (
        "id  kind  speaker       role             episode          time   snippet\n"
        "--  ----  ------------  ---------------  ---------------  -----  -------------------------------\n"
        "1   tip   Corie Miller  Product Manager  Customers first  01:05  Talk to [customers] every week.\n"
    )


def test_search_json_row_links_to_the_second(fixture_db, db_path):
    result = run(db_path, "search", "roadmap", "--nl")
    assert result.exit_code == 0
    row = json.loads(result.output)
    assert row.pop("rank") < 0  # bm25: lower is better
    assert row == {
        "id": 2, "kind": "quote", "status": "approved", "text": "A roadmap is a promise, so we make fewer of them.",
        "speaker": "Corie Miller", "role": "Product Manager", "organization": "Acme",
        "topics": '["roadmap and requirements"]', "score": 0.8, "episode_id": 2, "episode": "Roadmaps & <Strategy>",
        "published": "2023-06-15T00:00:00+00:00", "feed": "PM Talks", "start": 3725.0, "end": 3730.0,
        "snippet": "A [roadmap] is a promise, so we make fewer of them.", "time": "1:02:05",
        "url": "https://cdn.example.com/ep2.mp3#t=3725",
    }


def test_stemming_phrases_and_prefixes(fixture_db):
    assert ids(search_items(fixture_db, "customer")) == [1]  # porter: customer finds customers
    assert ids(search_items(fixture_db, '"make fewer"')) == [2]
    assert ids(search_items(fixture_db, '"fewer make"')) == []
    assert ids(search_items(fixture_db, "prototyp*")) == [3]
    assert sorted(ids(search_items(fixture_db, "customers OR spec"))) == [1, 3]
    assert ids(search_items(fixture_db, "customers NOT week")) == []


def test_ranking_puts_the_better_match_first(fixture_db):
    fixture_db["items"].insert({"id": 6, "kind": "tip", "text": "Customers, customers, customers.",
                                "dedup_key": "k6", "status": "pending"})
    assert ids(search_items(fixture_db, "customers")) == [6, 1]


def test_rank_window_ranks_only_the_newest_matches(fixture_db):
    fixture_db["items"].insert({"id": 6, "kind": "tip", "text": "Customers, customers, customers.",
                                "dedup_key": "k6", "status": "pending"})
    fixture_db["items"].insert({"id": 7, "kind": "tip", "text": "Ask customers.", "dedup_key": "k7"})
    assert ids(search_items(fixture_db, "customers", rank_window=1)) == [7]
    assert ids(search_items(fixture_db, "customers", rank_window=None)) == [6, 7, 1]


def test_edited_text_is_searched_and_shown(fixture_db):
    fixture_db["items"].update(3, {"edited_text": "Prototype first, then write the spec."})
    (row,) = search_items(fixture_db, "first")
    assert (row["id"], row["text"], row["snippet"]) == (
        3, "Prototype first, then write the spec.", "Prototype [first], then write the spec.")


def test_every_tip_by_product_managers_about_customers(fixture_db, db_path):
    fixture_db["items"].insert({"id": 6, "kind": "tip", "text": "Call a customer today.", "person_id": 1,
                                "episode_id": 2, "start": 10, "dedup_key": "k6", "topics": '["customers"]',
                                "score": 0.95})
    fixture_db["item_topics"].insert({"item_id": 6, "topic": "customers"})
    result = run(db_path, "search", "--kind", "tip", "--role", "product managers", "--topic", "customers", "--csv")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("id,kind,status,text,speaker,role,")
    assert [line.split(",")[0] for line in lines[1:]] == ["6", "1"]


@pytest.mark.parametrize("filters, expected", [
    ({}, [1, 2, 3, 5]),
    ({"statuses": ["all"]}, [1, 2, 3, 4, 5]),
    ({"statuses": ["rejected"]}, [4]),
    ({"statuses": ["approved", "pending"]}, [1, 2, 3, 5]),
    ({"kinds": ["quote"]}, [2, 5]),
    ({"person": "dana", "statuses": ["all"]}, [3, 4]),
    ({"role": "Designer"}, [3]),
    ({"topic": "Customers"}, [1, 5]),
    ({"since": "2024-01-01"}, [1, 3, 5]),
    ({"feed": "PM Talks"}, [1, 2, 3, 5]),
    ({"episode_id": 2}, [2]),
])
def test_filters_without_a_query(fixture_db, filters, expected):
    assert sorted(ids(search_items(fixture_db, None, **filters))) == expected


def test_filters_with_a_query(fixture_db):
    assert ids(search_items(fixture_db, "customers", statuses=["all"], role="designer")) == [4]
    assert ids(search_items(fixture_db, "customers", since="2024-01-01", statuses=["all"])) == [1]


@pytest.mark.parametrize("filters, message", [
    ({"role": "astronaut"}, "no role named 'astronaut'; known roles: Designer, Product Manager"),
    ({"topic": "gardening"}, "unknown topic 'gardening'; topics: customers, business and metrics,"),
    ({"feed": "Nope"}, "no feed matches 'Nope'"),
    ({"since": "yesterday"}, "--since wants a date like 2024-01-31, not 'yesterday'"),
    ({"statuses": ["maybe"]}, "unknown status 'maybe'"),
])
def test_bad_filters_are_clear_errors(fixture_db, filters, message):
    with pytest.raises(SearchError) as exc:
        search_items(fixture_db, "customers", **filters)
    assert str(exc.value).startswith(message)


def test_segment_search(fixture_db, db_path):
    result = run(db_path, "search", "customer", "--kind", "segment", "--person", "corie", "-t")
    assert result.exit_code == 0
    assert result.output == (
        "id  kind     speaker       role             episode          time   snippet\n"
        "--  -------  ------------  ---------------  ---------------  -----  "
        + "-" * 60 + "\n"
        "2   segment  Corie Miller  Product Manager  Customers first  01:05  "
        "Talk to [customers] every week. Prioritization follows from…\n"
    )
    rows = list(search_segments(fixture_db, "customer"))
    assert sorted(ids(rows)) == [1, 2, 3]
    assert {r["url"] for r in rows} == {"https://www.youtube.com/watch?v=abc123&t=0s",
                                         "https://www.youtube.com/watch?v=abc123&t=65s",
                                         "https://www.youtube.com/watch?v=abc123&t=130s"}
    assert ids(search_segments(fixture_db, "customer", role="designer")) == [3]
    assert ids(search_segments(fixture_db, "customer", since="2025-01-01")) == []
    assert sorted(ids(search_segments(fixture_db, "customer", feed="1", episode_id=1))) == [1, 2, 3]


def test_segment_search_refuses_item_only_filters(fixture_db, db_path):
    result = run(db_path, "search", "customer", "--kind", "segment", "--topic", "customers")
    assert result.exit_code == 1
    assert result.output == "Error: --topic applies to tips and quotes, not transcript segments\n"
    result = run(db_path, "search", "--kind", "segment")
    assert result.output == "Error: searching transcript segments needs a query\n"


@pytest.mark.parametrize("query, detail", [
    ('"unterminated', "unterminated string"),
    ("customers AND", 'fts5: syntax error near ""'),
    ("e-mail", "no such column: mail"),
    ("(customers", 'fts5: syntax error near ""'),
])
def test_malformed_query_is_a_clear_error(fixture_db, db_path, query, detail):
    for kind in ("tip", "segment"):
        result = run(db_path, "search", query, "--kind", kind)
        assert result.exit_code == 1
        assert result.output == (
            f"Error: invalid search query {query!r} ({detail}). Use words, \"a phrase\", prefix*, AND, OR, NOT; "
            "put words with punctuation in double quotes (\"e-mail\"), or pass --quote to search the words "
            "literally\n")
    result = run(db_path, "export", "--search", query, "--format", "jsonl")
    assert result.exit_code == 1 and result.output.startswith("Error: invalid search query")


def test_quote_searches_words_literally(fixture_db, db_path):
    result = run(db_path, "search", "customers AND", "--quote", "--nl", "--status", "all")
    assert result.exit_code == 0
    assert [json.loads(line)["id"] for line in result.output.splitlines()] == []
    result = run(db_path, "search", "talk-to", "--quote", "--kind", "segment", "--nl")
    assert result.exit_code == 0


def test_limit_and_output_formats(fixture_db, db_path):
    result = run(db_path, "search", "--limit", "2", "--json")
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows] == [1, 2]  # highest extractor score first without a query
    assert result.stderr == "(the first 2 results; --limit 0 for all)\n"
    everything = run(db_path, "search", "--limit", "0", "--nl")
    assert len(everything.stdout.splitlines()) > 2 and everything.stderr == ""
    assert run(db_path, "search", "--limit", "-1").exit_code == 2
    assert run(db_path, "search", "nothingmatches").output == ""
    assert run(db_path, "search", "nothingmatches", "--csv").output == "\n"
    assert run(db_path, "search", "nothingmatches", "--json").output == "[\n]\n"


# --- podpipe query ------------------------------------------------------------

def test_query_prints_rows(fixture_db, db_path):
    result = run(db_path, "query", "select id, kind, person, role from items_full where kind = :k order by id",
                 "-p", "k", "quote", "-t")
    assert result.exit_code == 0
    assert result.output == (
        "id  kind   person        role\n"
        "--  -----  ------------  ---------------\n"
        "2   quote  Corie Miller  Product Manager\n"
        "5   quote  Corie Miller  Product Manager\n"
    )
    assert run(db_path, "query", "select id from items where 0", "--csv").output == "id\n"


def test_every_tip_by_pms_about_customers_in_sql(fixture_db, db_path):
    result = run(db_path, "query", "select id, person from items_by_topic where kind = 'tip' "
                 "and role = 'Product Manager' and topic = 'customers'", "--nl")
    assert result.output == '{"id": 1, "person": "Corie Miller"}\n'


@pytest.mark.parametrize("sql", [
    "delete from items", "insert into roles (name) values ('x')", "drop table items",
    "update items set status = 'approved'", "pragma journal_mode = delete",
])
def test_query_refuses_writes(fixture_db, db_path, sql):
    before = list(fixture_db.query("select * from items order by id"))
    result = run(db_path, "query", sql)
    assert result.exit_code == 1
    assert result.output.startswith("Error: podpipe query is read-only: it runs SELECT statements, not writes (")
    check = sqlite3.connect(db_path)
    check.row_factory = sqlite3.Row
    assert [dict(r) for r in check.execute("select * from items order by id")] == before


def test_query_cannot_create_files(fixture_db, db_path, tmp_path):
    for sql in (f"attach '{tmp_path}/other.db' as other", f"vacuum into '{tmp_path}/copy.db'"):
        result = run(db_path, "query", sql)
        assert result.exit_code == 1
    assert not (tmp_path / "other.db").exists() and not (tmp_path / "copy.db").exists()


def test_query_errors(fixture_db, db_path, tmp_path):
    assert run(db_path, "query", "selec 1").output == 'Error: SQL error: near "selec": syntax error\n'
    assert run(tmp_path / "missing.db", "query", "select 1").output == f"Error: no database at {tmp_path}/missing.db\n"
    assert not (tmp_path / "missing.db").exists()


def test_topics_are_the_extractors_taxonomy():
    from pipeline.extract import TOPICS as EXTRACTOR_TOPICS
    from pipeline.search import TOPICS

    assert list(TOPICS) == list(EXTRACTOR_TOPICS)


def test_many_segment_results_agree_with_and_without_a_limit(fixture_db):
    # 400 matching segments: all of them come back in one pass; a limit ranks
    # first and reads only the rows it returns; both give the same rows in the same order.
    tid = fixture_db.execute("select min(id) from transcripts").fetchone()[0]
    fixture_db["segments"].insert_all(
        {"transcript_id": tid, "idx": 100 + n, "start": n, "end": n + 1, "speaker": "Corie Miller",
         "text": "we run an experiment " + "every week " * (n % 7) + f"number {n}"} for n in range(400))
    everything = list(search_segments(fixture_db, "experiment*"))
    assert len(everything) == 400
    assert [r["rank"] for r in everything] == sorted(r["rank"] for r in everything)
    assert all("[experiment]" in r["snippet"] and r["role"] == "Product Manager" and r["episode"] for r in everything)
    assert list(search_segments(fixture_db, "experiment*", limit=37)) == everything[:37]
    assert list(search_segments(fixture_db, "experiment*", limit=400)) == everything
    # the window: only the newest 50 matches are ranked, with or without a limit
    newest = list(search_segments(fixture_db, "experiment*", rank_window=50))
    assert sorted(ids(newest)) == sorted(ids(everything))[-50:]
    assert list(search_segments(fixture_db, "experiment*", rank_window=50, limit=10)) == newest[:10]


def test_search_reads_without_importing_sqlite_utils(fixture_db, db_path):
    # sqlite-utils (its plugin scan, numpy) was two thirds of a search's start-up
    import subprocess
    import sys

    code = ("import sys; from pipeline.cli import cli\n"
            "try: cli(['search', 'customer', '--kind', 'segment', '--nl', '--db', sys.argv[1]])\n"
            "except SystemExit: pass\n"
            "assert 'sqlite_utils' not in sys.modules, 'sqlite_utils was imported'\n")
    result = subprocess.run([sys.executable, "-c", code, str(db_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3


def test_reading_a_database_with_pending_migrations_migrates_it_first(db_path):
    import sqlite_utils

    from pipeline.db import ReadDatabase, migrations, open_for_reading

    older = sqlite_utils.Migrations(migrations.name)  # a database made before the last migration
    for fn, options in migrations.registered[:-1]:
        older(**options)(fn)
    older.apply(sqlite_utils.Database(db_path))
    db = open_for_reading(db_path)
    assert not isinstance(db, ReadDatabase)  # the full open ran the missing migration
    assert {m.name for m in older.applied(db)} == set(migrations.names())
    assert isinstance(open_for_reading(db_path), ReadDatabase)
