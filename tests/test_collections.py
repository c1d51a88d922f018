import pytest
from click.testing import CliRunner

from items_fixture import make_db
from pipeline.cli import cli
from pipeline.collections import (CollectionError, add_items, move_item, remove_items, save_collection,
                                  set_note)


@pytest.fixture
def fixture_db(db_path):
    return make_db(db_path)


def run(db_path, *args, input=None):
    return CliRunner().invoke(cli, [*args, "--db", str(db_path)], input=input, catch_exceptions=False)


def members(db, name="best"):
    return [(r["item_id"], r["position"], r["note"]) for r in db.query(
        "select ci.* from collection_items ci join collections c on c.id = ci.collection_id "
        "where c.name = ? order by position", [name])]


def test_collection_lifecycle(fixture_db, db_path):
    assert run(db_path, "collections", "create", "best", "--description", "Our favourites").output == \
        "created collection best\n"
    assert run(db_path, "collections", "add", "best", "3", "1").output == "added 2 items to best\n"
    assert run(db_path, "collections", "add", "best", "1", "2", "2").output == \
        "added 1 item to best (2 already there)\n"
    assert members(fixture_db) == [(3, 1, None), (1, 2, None), (2, 3, None)]
    assert run(db_path, "collections", "move", "best", "2", "1").output == "moved item 2 to position 1 in best\n"
    assert run(db_path, "collections", "move", "best", "3", "99").output == "moved item 3 to position 3 in best\n"
    assert run(db_path, "collections", "note", "best", "1", "Use, as the \"opener\"").output == \
        "noted item 1 in best\n"
    assert members(fixture_db) == [(2, 1, None), (1, 2, 'Use, as the "opener"'), (3, 3, None)]
    result = run(db_path, "collections", "show", "best", "-t")
    assert result.output == (
        "position  id  kind   status    person        episode_title          timestamp  text"
        "                                               note\n"
        "--------  --  -----  --------  ------------  ---------------------  ---------  "
        "-------------------------------------------------  --------------------\n"
        "1         2   quote  approved  Corie Miller  Roadmaps & <Strategy>  1:02:05    "
        "A roadmap is a promise, so we make fewer of them.\n"
        "2         1   tip    pending   Corie Miller  Customers first        01:05      "
        "Talk to customers every week.                      Use, as the \"opener\"\n"
        "3         3   tip    pending   Dana Lee      Customers first        02:10      "
        "Prototype before you write the spec.\n"
    )
    assert run(db_path, "collections", "remove", "best", "1").output == "removed 1 item from best\n"
    assert members(fixture_db) == [(2, 1, None), (3, 2, None)]
    result = run(db_path, "collections", "list", "--csv")
    assert result.output.startswith("name,description,items,created\nbest,Our favourites,2,")
    assert run(db_path, "collections", "delete", "best", input="n\n").exit_code == 1  # not confirmed
    assert run(db_path, "collections", "delete", "best", "--yes").output == \
        "deleted collection best (2 items; the items stay)\n"
    assert run(db_path, "collections", "list").output == ""
    assert fixture_db["items"].count == 5
    assert fixture_db["collection_items"].count == 0


def test_add_a_search_with_filters(fixture_db, db_path):
    run(db_path, "collections", "create", "customer-tips")
    result = run(db_path, "collections", "add", "customer-tips", "--search", "customers", "--status", "all")
    assert result.output == "added 2 items to customer-tips\n"  # 1 and the rejected 4
    assert members(fixture_db, "customer-tips") == [(1, 1, None), (4, 2, None)]
    result = run(db_path, "collections", "add", "customer-tips", "--topic", "customers", "--role", "product manager")
    assert result.output == "added 1 item to customer-tips (1 already there)\n"
    assert [m[0] for m in members(fixture_db, "customer-tips")] == [1, 4, 5]
    result = run(db_path, "collections", "add", "customer-tips", "--search", "nothingmatches")
    assert result.output == "added 0 items to customer-tips\n"


def test_unknown_collection_and_items(fixture_db, db_path):
    for args in (["add", "nope", "1"], ["remove", "nope", "1"], ["move", "nope", "1", "1"], ["note", "nope", "1", "x"],
                 ["show", "nope"], ["delete", "nope", "--yes"]):
        result = run(db_path, "collections", *args)
        assert result.exit_code == 1, args
        assert result.output == "Error: no collection named 'nope' (see 'podpipe collections list')\n"
    assert run(db_path, "export", "nope").output == \
        "Error: no collection named 'nope' (see 'podpipe collections list')\n"
    run(db_path, "collections", "create", "best")
    result = run(db_path, "collections", "add", "best", "1", "99")
    assert result.output == "Error: no item with id 99 (see 'podpipe search')\n"
    assert members(fixture_db) == []  # nothing added when one id is unknown
    assert run(db_path, "collections", "remove", "best", "1").output == \
        "Error: item 1 is not in collection 'best'\n"
    assert run(db_path, "collections", "create", "best").output == \
        "Error: a collection named 'best' exists already\n"
    assert run(db_path, "collections", "add", "best").exit_code == 2  # no ids, no search


def test_library(fixture_db):
    save_collection(fixture_db, "c")
    assert add_items(fixture_db, "c", [5, 4, 3, 5]) == (3, 1)
    assert move_item(fixture_db, "c", 3, 1) == 1
    assert move_item(fixture_db, "c", 3, 0) == 1
    assert members(fixture_db, "c") == [(3, 1, None), (5, 2, None), (4, 3, None)]
    set_note(fixture_db, "c", 4, "n")
    set_note(fixture_db, "c", 4, "")
    assert remove_items(fixture_db, "c", [5, 3]) == 2
    assert members(fixture_db, "c") == [(4, 1, None)]
    with pytest.raises(CollectionError, match="a collection needs a name"):
        save_collection(fixture_db, " ")
