import asyncio
import json

import pytest
from click.testing import CliRunner

from items_fixture import make_db
from pipeline.cli import cli
from pipeline.datasette_metadata import metadata_for

datasette_app = pytest.importorskip("datasette.app")


def get_json(db_path, *paths):
    """Open the database through Datasette's own test client and GET each path as JSON."""

    async def fetch():
        ds = datasette_app.Datasette([str(db_path)], metadata=metadata_for(db_path))
        await ds.invoke_startup()
        results = []
        for path in paths:
            response = await ds.client.get(path)
            assert response.status_code == 200, (path, response.text[:500])
            results.append(response.json())
        return results

    return asyncio.run(fetch())


def test_search_facets_and_canned_queries(db_path):
    make_db(db_path)
    items, segments, facets, tips, search = get_json(
        db_path,
        "/test/items_full.json?_search=customers&_shape=array",
        "/test/segments.json?_search=prioritization&_shape=array",
        "/test/items_full.json?_shape=objects&_size=0",
        "/test/tips_by_role_and_topic.json?role=Product+Manager&topic=customers&_shape=array",
        "/test/search_items.json?q=roadmap&_shape=array",
    )
    assert [(r["id"], r["person"], r["role"]) for r in items] == [(1, "Corie Miller", "Product Manager"),
                                                                     (4, "Dana Lee", "Designer")]
    assert [(r["id"], r["speaker"]) for r in segments] == [(2, "Corie Miller")]
    results = facets["facet_results"]
    assert sorted(results) == ["kind", "person", "role", "status", "topics"]
    assert {r["value"]: r["count"] for r in results["topics"]["results"]} == {
        "customers": 3, "design and prototyping": 1, "roadmap and requirements": 1}
    assert {r["value"]: r["count"] for r in results["status"]["results"]} == {
        "pending": 3, "approved": 1, "rejected": 1}
    assert [(r["id"], r["person"]) for r in tips] == [(1, "Corie Miller")]
    assert [(r["id"], r["snippet"]) for r in search] == [(2, "A [roadmap] is a promise, so we make fewer of them.")]


def test_metadata_is_printed_for_the_datasette_command(db_path):
    make_db(db_path)
    result = CliRunner().invoke(cli, ["serve", "--print-metadata", "--db", str(db_path)])
    assert result.exit_code == 0
    meta = json.loads(result.output)
    assert meta == metadata_for(db_path)
    tables = meta["databases"]["test"]["tables"]
    assert tables["items"]["fts_table"] == "items_fts" and tables["segments"]["fts_table"] == "segments_fts"
    assert all(t.get("description") for t in tables.values())
    assert set(meta["databases"]["test"]["queries"]) >= {"tips_by_role_and_topic", "quotes_by_topic"}
