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
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == [1, 2]  # highest extractor score first without a query
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
