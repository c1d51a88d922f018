"""Topic suggestions: approved items clustered by meaning with the real encoder
on a real SQLite file, named from their words, and accepted as topics."""
import json

import pytest
from click.testing import CliRunner

from pipeline import encoder
from pipeline.cli import cli
from pipeline.stages import run_stages
from pipeline.themes import words_of

from items_fixture import make_db

needs_extra = pytest.mark.skipif(not encoder.available(), reason="needs the extract extra")

PRICING = [
    "Raise your pricing before you think you are ready; customers pay for value.",
    "We tested three pricing tiers and the middle tier doubled revenue.",
    "Annual pricing plans cut churn and brought revenue forward.",
    "Never discount your pricing in the first call; anchor on the revenue it creates.",
]
HIRING = [
    "When hiring product managers, I look for curiosity over experience.",
    "Our hiring loop asks every candidate to run a real product critique.",
    "The best hiring signal is how a candidate talks about a failure.",
    "Slow down hiring until the team knows what great looks like.",
]


def item(n, text, status="approved", topics=()):
    return {"id": n, "kind": "tip", "text": text, "episode_id": 1 + n % 2, "speaker": "Corie Miller",
            "person_id": 1, "start": float(n), "end": n + 1.0, "topics": list(topics), "score": 0.5,
            "status": status}


ITEMS = ([item(n, t, topics=["business and metrics"]) for n, t in enumerate(PRICING, 1)]
         + [item(n, t) for n, t in enumerate(HIRING, 5)]
         + [item(9, "Pricing is a product decision, not a finance one.", status="pending")])


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("themes") / "podpipe.db"
    db = make_db(str(path), ITEMS)
    run_stages(db, ["embed"])
    return str(path)


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_words_drop_stop_words_and_punctuation():
    assert words_of("We tested THREE pricing tiers, and the middle-tier's it.") == {
        "tested", "three", "pricing", "tiers", "middle-tier's"}


@needs_extra
def test_two_themes_make_two_named_suggestions(db_path):
    result = run("topics", "suggest", "--db", db_path, "--json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert [(s["suggestion"], s["size"]) for s in got] == [(1, 4), (2, 4)]
    by_first = {min(map(int, s["example_ids"].split(","))): s for s in got}
    assert sorted(map(int, by_first[1]["example_ids"].split(","))) == [1, 2, 3, 4]
    assert sorted(map(int, by_first[5]["example_ids"].split(","))) == [5, 6, 7, 8]  # 9 is not approved
    # pricing is in the pending item too, so revenue is the rarer word (tf-idf over all items)
    assert by_first[1]["name"] == "revenue and pricing"
    assert by_first[5]["name"].startswith("hiring and ")
    by_first = {"pricing": by_first[1], "hiring": by_first[5]}
    assert (by_first["pricing"]["existing_topic"], by_first["pricing"]["existing_share"]) == (
        "business and metrics", 1.0)
    assert (by_first["hiring"]["existing_topic"], by_first["hiring"]["existing_share"]) == (None, 0.0)
    assert run("topics", "suggest", "--db", db_path, "--min-size", "5", "--json").output.strip() == "[\n]"


@needs_extra
def test_accept_tags_a_suggestion_and_search_finds_it(db_path, tmp_path):
    got = json.loads(run("topics", "suggest", "--db", db_path, "--json").output)
    hiring = next(s for s in got if s["name"].startswith("hiring"))
    result = run("topics", "accept", "Hiring", "--suggestion", str(hiring["suggestion"]), "--db", db_path)
    assert (result.exit_code, result.output) == (0, "tagged 4 items with topic 'Hiring'\n")
    result = run("topics", "accept", "Hiring", "--items", "5,9", "--db", db_path)
    assert (result.exit_code, result.output) == (0, "tagged 2 items with topic 'Hiring'\n")
    from pipeline.db import open_db

    db = open_db(db_path)
    assert [r[0] for r in db.execute("select item_id from item_topics where topic = 'Hiring' order by 1")] == [
        5, 6, 7, 8, 9]
    assert json.loads(db.execute("select topics from items where id = 5").fetchone()[0]) == ["Hiring"]
    found = run("search", "--topic", "hiring", "--status", "all", "--db", db_path, "--nl")
    assert found.exit_code == 0, found.output
    assert sorted(json.loads(line)["id"] for line in found.output.splitlines()) == [5, 6, 7, 8, 9]


def test_nothing_approved_or_embedded_is_a_one_line_error(tmp_path):
    path = str(tmp_path / "empty.db")
    make_db(path, [item(1, "Pricing matters.")])
    result = run("topics", "suggest", "--db", path)
    assert result.exit_code == 1
    assert result.output == ("Error: no approved items with vectors yet: approve items, "
                             "then run 'podpipe embed'\n")


@pytest.mark.parametrize("args, message", [
    (["--items", "1,x"], "--items takes comma-separated ids, not '1,x'"),
    (["--items", "77"], "no item with id 77"),
    ([], "give the items to tag: --items 1,2,3 or --suggestion N"),
])
def test_accept_bad_input_is_one_line(tmp_path, args, message):
    path = str(tmp_path / "one.db")
    make_db(path, [item(1, "Pricing matters.")])
    result = run("topics", "accept", "pricing", *args, "--db", path)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
